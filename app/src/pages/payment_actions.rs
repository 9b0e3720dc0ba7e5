//! Capture, cancel and refund on the payment page. Each is a confirmation step (a `<details>`
//! disclosure, so it works before hydration too): the summary opens it, the body says in words
//! what will happen to whose money, and only its button moves the money. Once the page has
//! hydrated, the words follow the amount as it is typed.

use leptos::prelude::*;

use super::succeeded;

use crate::{
    components::{ActionError, Confirm, MeResource, Toast},
    domain::{
        ledger::PaymentOut,
        stripe_out::{PaymentActionOut, RefundRequestOut},
        Action, Currency,
    },
    server_fns::stripe_out::{CancelPayment, CapturePayment, RefundPayment},
};

/// What a capture or refund of `typed` (major units, as typed; empty means all of `max`) will
/// do, in words; or what is wrong with the amount.
fn consequence(verb: &str, typed: &str, max: i64, currency: Option<&Currency>, whom: &str) -> String {
    let fmt = |amount: i64| currency.map(|c| c.format(amount)).unwrap_or_else(|| amount.to_string());
    let typed = typed.trim();
    if typed.is_empty() {
        return format!("{verb} all {} {whom}.", fmt(max));
    }
    let Some(currency) = currency else { return format!("{verb} {typed} {whom}.") };
    match currency.parse_major(typed, "amount") {
        Ok(0) => "Enter an amount above zero.".into(),
        Ok(amount) if amount > max => format!("{} is more than the {} available.", fmt(amount), fmt(max)),
        Ok(amount) => format!("{verb} {} of {} {whom}.", fmt(amount), fmt(max)),
        Err(_) => format!("Enter an amount like 10.00 (at most {}).", fmt(max)),
    }
}

#[component]
pub fn PaymentActions(payment: PaymentOut) -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let capture = ServerAction::<CapturePayment>::new();
    let cancel = ServerAction::<CancelPayment>::new();
    let refund = ServerAction::<RefundPayment>::new();
    let currency = Currency::parse(&payment.currency).ok();
    let fmt = {
        let currency = currency.clone();
        move |amount: i64| currency.as_ref().map(|c| c.format(amount)).unwrap_or_else(|| amount.to_string())
    };
    let status = payment.status.clone();
    let capturable = status == "requires_capture";
    let cancelable = ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"].contains(&status.as_str());
    let refundable = payment.amount_captured - payment.amount_refunded;
    let id = payment.id.clone();
    let amount_label = fmt(payment.amount);
    let refundable_label = fmt(refundable);
    let customer = payment.customer_email.clone().map(|e| format!("to {e}")).unwrap_or_else(|| "to the customer".into());
    let capture_amount = RwSignal::new(String::new());
    let refund_amount = RwSignal::new(String::new());
    let (payment_amount, currency_cap, currency_ref) = (payment.amount, currency.clone(), currency);
    let capture_says = {
        move || consequence("Capture", &capture_amount.get(), payment_amount, currency_cap.as_ref(), "from the customer's authorisation; the rest is released")
    };
    let refund_whom = format!("{customer}; this cannot be undone");
    let refund_says = move || consequence("Refund", &refund_amount.get(), refundable, currency_ref.as_ref(), &refund_whom);
    let capture_says = Signal::derive(capture_says);
    let refund_says = Signal::derive(refund_says);
    let money_done = |amount: i64, currency: &str| Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {currency}"));

    view! {
        <Toast value=succeeded(capture.value()) message=move |d: &PaymentActionOut| format!("Capture of {} sent to Stripe.", money_done(d.amount, &d.currency))/>
        <Toast value=succeeded(cancel.value()) message=|_: &PaymentActionOut| "Payment canceled: the authorisation is released.".to_string()/>
        <Toast value=succeeded(refund.value()) message=move |d: &RefundRequestOut| format!("Refund of {} requested.", money_done(d.amount, &d.currency))/>
        <Suspense fallback=|| ()>
            {move || {
                let (id, amount_label, refundable_label) = (id.clone(), amount_label.clone(), refundable_label.clone());
                Suspend::new(async move {
                    let role = match me.await { Ok(Some(ref me)) => MeResource::role_in_active(me), _ => None };
                    let may = |action: Action| role.is_some_and(|r| r.can(action));
                    let (id_capture, id_cancel, id_refund) = (id.clone(), id.clone(), id);
                    let can_capture = capturable && may(Action::PaymentsCapture);
                    let can_cancel = cancelable && may(Action::PaymentsCancel);
                    let can_refund = refundable > 0 && may(Action::RefundsCreate);
                    let nothing = !(can_capture || can_cancel || can_refund);
                    let cancel_label = amount_label.clone();
                    let why_nothing = if role.is_some_and(|r| r.can(Action::RefundsCreate)) {
                        "Nothing to do: this payment cannot be captured, canceled or refunded in its current state."
                    } else {
                        "Your role can look at this payment but not move its money."
                    };
                    view! {
                        <section class="card" id="payment-actions" aria-labelledby="payment-actions-title">
                            <h2 id="payment-actions-title">"Actions"</h2>
                            {nothing.then(|| view! { <p class="hint" id="no-actions">{why_nothing}</p> })}
                            <div class="actions">
                                {can_capture.then(|| view! {
                                    <Confirm summary="Capture…" testid="capture-confirm">
                                        <ActionForm action=capture attr:class="form" attr:id="capture-form">
                                            <input type="hidden" name="id" value=id_capture/>
                                            <label for="capture-amount">{format!("Amount to capture (up to {amount_label}; empty captures all)")}</label>
                                            <input id="capture-amount" name="amount" inputmode="decimal" autocomplete="off" aria-describedby="capture-consequence"
                                                on:input=move |ev| capture_amount.set(event_target_value(&ev))/>
                                            <p class="consequence" id="capture-consequence" aria-live="polite">{capture_says}</p>
                                            <button type="submit">"Confirm capture"</button>
                                        </ActionForm>
                                    </Confirm>
                                })}
                                {can_refund.then(|| view! {
                                    <Confirm summary="Refund…" danger=true testid="refund-confirm">
                                        <ActionForm action=refund attr:class="form" attr:id="refund-form">
                                            <input type="hidden" name="id" value=id_refund/>
                                            <label for="refund-amount">{format!("Amount to refund (up to {refundable_label}; empty refunds all)")}</label>
                                            <input id="refund-amount" name="amount" inputmode="decimal" autocomplete="off" aria-describedby="refund-consequence"
                                                on:input=move |ev| refund_amount.set(event_target_value(&ev))/>
                                            <label for="refund-reason">"Reason"</label>
                                            <select id="refund-reason" name="reason">
                                                <option value="requested_by_customer">"requested by customer"</option>
                                                <option value="duplicate">"duplicate"</option>
                                                <option value="fraudulent">"fraudulent"</option>
                                            </select>
                                            <p class="consequence" id="refund-consequence" aria-live="polite">{refund_says}</p>
                                            <button type="submit" class="danger solid">"Confirm refund"</button>
                                        </ActionForm>
                                    </Confirm>
                                })}
                                {can_cancel.then(|| view! {
                                    <Confirm summary="Cancel payment…" danger=true testid="cancel-confirm">
                                        <ActionForm action=cancel attr:class="form" attr:id="cancel-form">
                                            <input type="hidden" name="id" value=id_cancel/>
                                            <p>{format!("The authorisation of {cancel_label} is released and the customer is not charged. This cannot be undone.")}</p>
                                            <button type="submit" class="danger solid">"Confirm cancel"</button>
                                        </ActionForm>
                                    </Confirm>
                                })}
                            </div>
                            {move || capture.value().get().and_then(|r| r.ok()).map(|done| view! { <p class="notice" role="status" id="capture-done">{format!("Capture sent: Stripe says {}.", done.stripe_status)}</p> })}
                            {move || cancel.value().get().and_then(|r| r.ok()).map(|done| view! { <p class="notice" role="status" id="cancel-done">{format!("Cancel sent: Stripe says {}.", done.stripe_status)}</p> })}
                            {move || refund.value().get().and_then(|r| r.ok()).map(|done| view! { <p class="notice" role="status" id="refund-done">{format!("Refund of {}: {}. The ledger follows when Stripe confirms.", money_done(done.amount, &done.currency), done.status)}</p> })}
                            <ActionError value=capture.value()/>
                            <ActionError value=cancel.value()/>
                            <ActionError value=refund.value()/>
                        </section>
                    }
                })
            }}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consequence_names_the_amount_and_currency_or_what_is_wrong() {
        let usd = Currency::parse("usd").ok();
        let say = |typed| consequence("Refund", typed, 3900, usd.as_ref(), "to ada@example.com");
        assert_eq!(say(""), "Refund all 39.00 USD to ada@example.com.");
        assert_eq!(say("10"), "Refund 10.00 USD of 39.00 USD to ada@example.com.");
        assert_eq!(say(" 10.5 "), "Refund 10.50 USD of 39.00 USD to ada@example.com.");
        assert_eq!(say("100"), "100.00 USD is more than the 39.00 USD available.");
        assert_eq!(say("0"), "Enter an amount above zero.");
        assert_eq!(say("ten"), "Enter an amount like 10.00 (at most 39.00 USD).");
        let jpy = Currency::parse("jpy").ok();
        assert_eq!(consequence("Capture", "", 1200, jpy.as_ref(), "now"), "Capture all 1200 JPY now.");
    }
}
