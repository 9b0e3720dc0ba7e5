//! Capture, cancel and refund on the payment page. Each sits behind a disclosure that names
//! what will happen and asks for the amount: the confirmation step works before hydration too.

use leptos::prelude::*;

use crate::{
    components::{ActionError, MeResource},
    domain::{ledger::PaymentOut, Action, Currency},
    server_fns::stripe_out::{CancelPayment, CapturePayment, RefundPayment},
};

#[component]
pub fn PaymentActions(payment: PaymentOut) -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let capture = ServerAction::<CapturePayment>::new();
    let cancel = ServerAction::<CancelPayment>::new();
    let refund = ServerAction::<RefundPayment>::new();
    let currency = Currency::parse(&payment.currency).ok();
    let fmt = move |amount: i64| currency.as_ref().map(|c| c.format(amount)).unwrap_or_else(|| amount.to_string());
    let status = payment.status.clone();
    let capturable = status == "requires_capture";
    let cancelable = ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"].contains(&status.as_str());
    let refundable = payment.amount_captured - payment.amount_refunded;
    let id = payment.id.clone();
    let amount_label = fmt(payment.amount);
    let refundable_label = fmt(refundable);

    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (id, amount_label, refundable_label) = (id.clone(), amount_label.clone(), refundable_label.clone());
                Suspend::new(async move {
                    let role = match me.await { Ok(Some(ref me)) => MeResource::role_in_active(me), _ => None };
                    let may = |action: Action| role.is_some_and(|r| r.can(action));
                    let (id_capture, id_cancel, id_refund) = (id.clone(), id.clone(), id);
                    view! {
                        <section class="card" id="payment-actions">
                            <h2>"Actions"</h2>
                            {(capturable && may(Action::PaymentsCapture)).then(|| view! {
                                <details>
                                    <summary>"Capture…"</summary>
                                    <ActionForm action=capture attr:class="form row" attr:id="capture-form">
                                        <input type="hidden" name="id" value=id_capture/>
                                        <div>
                                            <label for="capture-amount">{format!("Amount (up to {amount_label}; empty captures all)")}</label>
                                            <input id="capture-amount" name="amount" inputmode="decimal"/>
                                        </div>
                                        <button type="submit">"Confirm capture"</button>
                                    </ActionForm>
                                </details>
                            })}
                            {(cancelable && may(Action::PaymentsCancel)).then(|| view! {
                                <details>
                                    <summary>"Cancel payment…"</summary>
                                    <ActionForm action=cancel attr:class="form row" attr:id="cancel-form">
                                        <input type="hidden" name="id" value=id_cancel/>
                                        <p>"The authorisation is released and the customer is not charged."</p>
                                        <button type="submit" class="danger">"Confirm cancel"</button>
                                    </ActionForm>
                                </details>
                            })}
                            {(refundable > 0 && may(Action::RefundsCreate)).then(|| view! {
                                <details>
                                    <summary>"Refund…"</summary>
                                    <ActionForm action=refund attr:class="form row" attr:id="refund-form">
                                        <input type="hidden" name="id" value=id_refund/>
                                        <div>
                                            <label for="refund-amount">{format!("Amount (up to {refundable_label}; empty refunds all)")}</label>
                                            <input id="refund-amount" name="amount" inputmode="decimal"/>
                                        </div>
                                        <div>
                                            <label for="refund-reason">"Reason"</label>
                                            <select id="refund-reason" name="reason">
                                                <option value="requested_by_customer">"requested by customer"</option>
                                                <option value="duplicate">"duplicate"</option>
                                                <option value="fraudulent">"fraudulent"</option>
                                            </select>
                                        </div>
                                        <button type="submit" class="danger">"Confirm refund"</button>
                                    </ActionForm>
                                </details>
                            })}
                            {move || capture.value().get().and_then(|r| r.ok()).map(|done| view! { <p class="notice" role="status" id="capture-done">{format!("Capture sent: Stripe says {}.", done.stripe_status)}</p> })}
                            {move || cancel.value().get().and_then(|r| r.ok()).map(|done| view! { <p class="notice" role="status" id="cancel-done">{format!("Cancel sent: Stripe says {}.", done.stripe_status)}</p> })}
                            {move || refund.value().get().and_then(|r| r.ok()).map(|done| view! { <p class="notice" role="status" id="refund-done">{format!("Refund of {} {}: {}. The ledger follows when Stripe confirms.", done.amount, done.currency.to_uppercase(), done.status)}</p> })}
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
