//! Reading billing objects out of Stripe events, by field name (as the ledger does), into our own
//! small snapshots. Both the 2024 shapes (`invoice.subscription`, `invoice.payment_intent`,
//! `subscription.current_period_end`) and the 2025 "basil" ones (`invoice.parent.
//! subscription_details`, `invoice.payments`, periods on subscription items) are understood. A
//! field we need that is missing or mistyped makes the event `unparsed`: kept, re-processable.

use serde_json::Value;

use crate::ssr::ledger::stripe_event::{Handling, StripeEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSnap {
    pub stripe_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub country: Option<String>,
    pub currency: Option<String>,
    pub deleted: bool,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodSnap {
    pub stripe_id: String,
    pub customer: Option<String>,
    pub kind: String,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub card_country: Option<String>,
    pub card_fingerprint: Option<String>,
    pub attached: bool,
}

/// A succeeded SetupIntent: its payment method is now the customer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupIntentSnap {
    pub stripe_id: String,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSnap {
    pub stripe_id: String,
    pub customer: String,
    pub status: String,
    pub price_id: Option<String>,
    pub product_id: Option<String>,
    pub plan_nickname: Option<String>,
    pub unit_amount: Option<i64>,
    pub currency: Option<String>,
    pub interval: Option<String>,
    pub quantity: i64,
    pub current_period_start: Option<i64>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub trial_end: Option<i64>,
    pub paused: bool,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSnap {
    pub stripe_id: String,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    pub subscription: Option<String>,
    pub number: Option<String>,
    pub status: String,
    pub currency: String,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub due_date: Option<i64>,
    pub hosted_invoice_url: Option<String>,
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    pub attempt_count: i64,
    pub created: Option<i64>,
    /// Stripe's own tax amounts (`total_tax_amounts`, or `total_taxes` from 2025 API versions).
    pub tax_lines: Vec<InvoiceTaxLine>,
}

/// One tax amount of an invoice, as Stripe computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceTaxLine {
    /// The rate's display name (and jurisdiction) when Stripe expanded it, else its id.
    pub name: String,
    /// Ten-thousandths of a percent (19% = 190000): the expanded rate's, else amount / taxable.
    pub percentage_e4: Option<i64>,
    pub inclusive: bool,
    pub taxable_amount: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingUpdate {
    Customer(CustomerSnap),
    PaymentMethod(PaymentMethodSnap),
    SetupIntent(SetupIntentSnap),
    Subscription(SubscriptionSnap),
    Invoice(InvoiceSnap),
}

fn str_field(o: &Value, name: &str) -> Result<String, String> {
    o.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("`{name}` is missing or not a string"))
}

fn opt_str(o: &Value, name: &str) -> Option<String> {
    o.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn opt_int(o: &Value, name: &str) -> Option<i64> {
    o.get(name).and_then(Value::as_i64)
}

fn int_field(o: &Value, name: &str) -> Result<i64, String> {
    o.get(name).and_then(Value::as_i64).ok_or_else(|| format!("`{name}` is missing or not an integer"))
}

fn flag(o: &Value, name: &str) -> bool {
    o.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// An id Stripe may send as a string or, expanded, as an object with `id`.
fn id_field(o: &Value, name: &str) -> Option<String> {
    match o.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Reads the billing object of an event of a billing type.
pub fn read(event: &StripeEvent, handling: Handling) -> Result<BillingUpdate, String> {
    let o = &event.data.object;
    Ok(match handling {
        Handling::Customer => BillingUpdate::Customer(customer(o, event.event_type == "customer.deleted")?),
        Handling::PaymentMethod => BillingUpdate::PaymentMethod(payment_method(o, event.event_type != "payment_method.detached")?),
        Handling::SetupIntent => BillingUpdate::SetupIntent(SetupIntentSnap {
            stripe_id: str_field(o, "id")?,
            customer: id_field(o, "customer"),
            payment_method: id_field(o, "payment_method"),
            kind: o.get("payment_method_types").and_then(|t| t.get(0)).and_then(Value::as_str).unwrap_or("card").to_owned(),
        }),
        Handling::Subscription => BillingUpdate::Subscription(subscription(o)?),
        Handling::Invoice => BillingUpdate::Invoice(invoice(o)?),
        other => return Err(format!("{other:?} is not a billing event")),
    })
}

fn customer(o: &Value, deleted_event: bool) -> Result<CustomerSnap, String> {
    Ok(CustomerSnap {
        stripe_id: str_field(o, "id")?,
        email: opt_str(o, "email"),
        name: opt_str(o, "name"),
        description: opt_str(o, "description"),
        country: o.get("address").and_then(|a| opt_str(a, "country")),
        currency: opt_str(o, "currency"),
        deleted: deleted_event || flag(o, "deleted"),
        created: opt_int(o, "created"),
    })
}

fn payment_method(o: &Value, attached_event: bool) -> Result<PaymentMethodSnap, String> {
    let card = o.get("card").filter(|c| c.is_object());
    let customer = id_field(o, "customer");
    Ok(PaymentMethodSnap {
        stripe_id: str_field(o, "id")?,
        attached: attached_event && customer.is_some(),
        customer,
        kind: str_field(o, "type")?,
        card_brand: card.and_then(|c| opt_str(c, "brand")),
        card_last4: card.and_then(|c| opt_str(c, "last4")),
        card_country: card.and_then(|c| opt_str(c, "country")),
        card_fingerprint: card.and_then(|c| opt_str(c, "fingerprint")),
    })
}

fn subscription(o: &Value) -> Result<SubscriptionSnap, String> {
    let customer = id_field(o, "customer").ok_or("`customer` is missing")?;
    let status = str_field(o, "status")?;
    let item = o.get("items").and_then(|i| i.get("data")).and_then(|d| d.get(0));
    let price = item.and_then(|i| i.get("price")).filter(|p| p.is_object());
    // Before prices there were plans; Stripe still sends `plan` beside `price`.
    let plan = o.get("plan").or_else(|| item.and_then(|i| i.get("plan"))).filter(|p| p.is_object());
    let from_price_or_plan = |price_name: &str, plan_name: &str| -> Option<String> {
        price.and_then(|p| opt_str(p, price_name)).or_else(|| plan.and_then(|p| opt_str(p, plan_name)))
    };
    let period = |name: &str| opt_int(o, name).or_else(|| item.and_then(|i| opt_int(i, name)));
    Ok(SubscriptionSnap {
        stripe_id: str_field(o, "id")?,
        customer,
        price_id: price.and_then(|p| opt_str(p, "id")).or_else(|| plan.and_then(|p| opt_str(p, "id"))),
        product_id: price.and_then(|p| id_field(p, "product")).or_else(|| plan.and_then(|p| id_field(p, "product"))),
        plan_nickname: from_price_or_plan("nickname", "nickname"),
        unit_amount: price.and_then(|p| opt_int(p, "unit_amount")).or_else(|| plan.and_then(|p| opt_int(p, "amount"))),
        currency: from_price_or_plan("currency", "currency").or_else(|| opt_str(o, "currency")),
        interval: price.and_then(|p| p.get("recurring")).and_then(|r| opt_str(r, "interval")).or_else(|| plan.and_then(|p| opt_str(p, "interval"))),
        quantity: opt_int(o, "quantity").or_else(|| item.and_then(|i| opt_int(i, "quantity"))).unwrap_or(1),
        current_period_start: period("current_period_start"),
        current_period_end: period("current_period_end"),
        cancel_at_period_end: flag(o, "cancel_at_period_end"),
        canceled_at: opt_int(o, "canceled_at"),
        trial_end: opt_int(o, "trial_end"),
        paused: status == "paused" || o.get("pause_collection").is_some_and(|p| p.is_object()),
        status,
        created: opt_int(o, "created"),
    })
}

fn invoice(o: &Value) -> Result<InvoiceSnap, String> {
    let subscription =
        id_field(o, "subscription").or_else(|| o.get("parent").and_then(|p| p.get("subscription_details")).and_then(|d| id_field(d, "subscription")));
    // The payment: 2024 shapes name it on the invoice; basil lists it under `payments` when expanded.
    let paid_payment = o
        .get("payments")
        .and_then(|p| p.get("data"))
        .and_then(Value::as_array)
        .and_then(|all| all.iter().find(|p| p.get("status").and_then(Value::as_str) == Some("paid")).or_else(|| all.first()))
        .and_then(|p| p.get("payment"));
    let tax = opt_int(o, "tax")
        .unwrap_or_else(|| o.get("total_taxes").and_then(Value::as_array).map(|t| t.iter().filter_map(|x| opt_int(x, "amount")).sum()).unwrap_or(0));
    let amount_due = int_field(o, "amount_due")?;
    Ok(InvoiceSnap {
        stripe_id: str_field(o, "id")?,
        customer: id_field(o, "customer"),
        customer_email: opt_str(o, "customer_email"),
        subscription,
        number: opt_str(o, "number"),
        status: str_field(o, "status")?,
        currency: str_field(o, "currency")?,
        amount_due,
        amount_paid: opt_int(o, "amount_paid").unwrap_or(0),
        amount_remaining: opt_int(o, "amount_remaining").unwrap_or(amount_due),
        subtotal: opt_int(o, "subtotal").unwrap_or(0),
        tax,
        total: opt_int(o, "total").unwrap_or(amount_due),
        due_date: opt_int(o, "due_date"),
        hosted_invoice_url: opt_str(o, "hosted_invoice_url"),
        payment_intent: id_field(o, "payment_intent").or_else(|| paid_payment.and_then(|p| id_field(p, "payment_intent"))),
        charge: id_field(o, "charge").or_else(|| paid_payment.and_then(|p| id_field(p, "charge"))),
        attempt_count: opt_int(o, "attempt_count").unwrap_or(0),
        created: opt_int(o, "created"),
        tax_lines: tax_lines(o),
    })
}

fn tax_lines(o: &Value) -> Vec<InvoiceTaxLine> {
    let (items, basil) = match o.get("total_tax_amounts").and_then(Value::as_array) {
        Some(items) => (items, false),
        None => match o.get("total_taxes").and_then(Value::as_array) {
            Some(items) => (items, true),
            None => return Vec::new(),
        },
    };
    items
        .iter()
        .filter_map(|t| {
            let amount = opt_int(t, "amount")?;
            let taxable_amount = opt_int(t, "taxable_amount").unwrap_or(0);
            let inclusive = if basil { t.get("tax_behavior").and_then(Value::as_str) == Some("inclusive") } else { t.get("inclusive").and_then(Value::as_bool).unwrap_or(false) };
            let rate = if basil { t.get("tax_rate_details").and_then(|d| d.get("tax_rate")) } else { t.get("tax_rate") };
            let expanded = rate.filter(|r| r.is_object());
            let name = expanded
                .and_then(|r| {
                    let display = opt_str(r, "display_name")?;
                    Some(match opt_str(r, "jurisdiction") {
                        Some(j) => format!("{display} {j}"),
                        None => display,
                    })
                })
                .or_else(|| rate.and_then(|r| r.as_str().map(str::to_owned)).or_else(|| expanded.and_then(|r| opt_str(r, "id"))))
                .unwrap_or_else(|| "Tax".to_owned());
            // Stripe sends the percentage as a JSON decimal (19.0, 8.875): read it through its
            // text so 8.875 is exactly 88750, not a float's neighbour.
            let percentage_e4 = expanded
                .and_then(|r| r.get("percentage"))
                .and_then(|p| percentage_e4(&p.to_string()))
                .or_else(|| (taxable_amount > 0).then(|| (i128::from(amount) * 1_000_000 / i128::from(taxable_amount)) as i64));
            Some(InvoiceTaxLine { name, percentage_e4, inclusive, taxable_amount, amount })
        })
        .collect()
}

/// "19", "19.0", "8.875" → ten-thousandths of a percent; more than four decimals → None.
fn percentage_e4(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 4 || whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_e4: i64 = format!("{frac:0<4}").parse().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(10_000)?.checked_add(frac_e4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::ledger::stripe_event::handling;

    fn fixtures() -> Vec<(String, Vec<u8>)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/billing");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
        files.sort();
        files.into_iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect()
    }

    fn event(name: &str) -> StripeEvent {
        let (_, raw) = fixtures().into_iter().find(|(n, _)| n.contains(name)).unwrap_or_else(|| panic!("no fixture {name}"));
        StripeEvent::parse(&raw).unwrap()
    }

    #[test]
    fn an_invoice_keeps_stripes_tax_amounts_with_the_rate_derived_when_not_expanded() {
        let BillingUpdate::Invoice(snap) = read(&event("invoice.paid"), Handling::Invoice).unwrap() else { panic!("an invoice") };
        assert_eq!(
            snap.tax_lines,
            vec![InvoiceTaxLine { name: "txr_FixtureVatDE".into(), percentage_e4: Some(190_000), inclusive: false, taxable_amount: 2000, amount: 380 }]
        );
    }

    #[test]
    fn an_expanded_rate_names_the_line_and_its_percentage_is_read_exactly() {
        let o = serde_json::json!({"total_taxes": [{"amount": 89, "tax_behavior": "inclusive", "taxable_amount": 1000,
            "tax_rate_details": {"tax_rate": {"id": "txr_1", "display_name": "Sales tax", "jurisdiction": "NY", "percentage": 8.875}}}]});
        assert_eq!(
            tax_lines(&o),
            vec![InvoiceTaxLine { name: "Sales tax NY".into(), percentage_e4: Some(88_750), inclusive: true, taxable_amount: 1000, amount: 89 }]
        );
        assert_eq!(percentage_e4("19"), Some(190_000));
        assert_eq!(percentage_e4("0.12345"), None);
        assert_eq!(percentage_e4("-1"), None);
    }

    #[test]
    fn every_billing_fixture_is_a_billing_type_and_reads() {
        let all = fixtures();
        assert!(all.len() >= 20, "the story covers every billing event type");
        let mut types = std::collections::BTreeSet::new();
        for (name, raw) in all {
            let e = StripeEvent::parse(&raw).unwrap();
            let h = handling(&e.event_type);
            if e.event_type.starts_with("payment_intent.") {
                continue; // the payment that pays the first invoice: the ledger's
            }
            assert!(h.is_billing(), "{name}: {} should be a billing type", e.event_type);
            read(&e, h).unwrap_or_else(|err| panic!("{name}: {err}"));
            types.insert(e.event_type);
        }
        let expected = [
            "customer.created",
            "customer.deleted",
            "customer.subscription.created",
            "customer.subscription.deleted",
            "customer.subscription.paused",
            "customer.subscription.resumed",
            "customer.subscription.trial_will_end",
            "customer.subscription.updated",
            "customer.updated",
            "invoice.created",
            "invoice.finalized",
            "invoice.marked_uncollectible",
            "invoice.paid",
            "invoice.payment_failed",
            "invoice.payment_succeeded",
            "invoice.voided",
            "payment_method.attached",
            "payment_method.detached",
            "setup_intent.succeeded",
        ];
        assert_eq!(types.into_iter().collect::<Vec<_>>(), expected, "every billing event type has a fixture");
    }

    #[test]
    fn a_subscription_reads_its_price_period_and_customer() {
        let e = event("customer.subscription.updated");
        let BillingUpdate::Subscription(s) = read(&e, Handling::Subscription).unwrap() else { panic!("a subscription") };
        assert_eq!(s.customer, "cus_FixtureBilling1");
        assert_eq!(s.price_id.as_deref(), Some("price_FixtureMonthly"));
        assert_eq!(s.product_id.as_deref(), Some("prod_FixturePro"));
        assert_eq!((s.unit_amount, s.currency.as_deref(), s.interval.as_deref()), (Some(2000), Some("eur"), Some("month")));
        assert!(s.current_period_end.unwrap() > s.current_period_start.unwrap());
    }

    #[test]
    fn a_paid_invoice_names_its_payment_and_subscription() {
        let e = event("invoice.paid");
        let BillingUpdate::Invoice(i) = read(&e, Handling::Invoice).unwrap() else { panic!("an invoice") };
        assert_eq!(i.status, "paid");
        assert_eq!(i.payment_intent.as_deref(), Some("pi_3FixtureInvoice1"));
        assert_eq!(i.subscription.as_deref(), Some("sub_FixtureBilling1"));
        assert_eq!((i.amount_due, i.amount_paid, i.amount_remaining), (2380, 2380, 0));
        assert_eq!(i.tax, 380);
    }

    #[test]
    fn basil_shapes_read_the_same_fields_from_their_new_places() {
        let mut raw: Value = serde_json::from_slice(&fixtures().into_iter().find(|(n, _)| n.contains("invoice.paid")).unwrap().1).unwrap();
        let o = raw["data"]["object"].as_object_mut().unwrap();
        let sub = o.remove("subscription").unwrap();
        let pi = o.remove("payment_intent").unwrap();
        o.remove("charge");
        o.remove("tax");
        o.insert("parent".into(), serde_json::json!({ "type": "subscription_details", "subscription_details": { "subscription": sub } }));
        o.insert("total_taxes".into(), serde_json::json!([{ "amount": 300 }, { "amount": 80 }]));
        o.insert(
            "payments".into(),
            serde_json::json!({ "object": "list", "data": [{ "status": "paid", "payment": { "type": "payment_intent", "payment_intent": pi } }] }),
        );
        let e = StripeEvent::parse(raw.to_string().as_bytes()).unwrap();
        let BillingUpdate::Invoice(i) = read(&e, Handling::Invoice).unwrap() else { panic!("an invoice") };
        assert_eq!(i.subscription.as_deref(), Some("sub_FixtureBilling1"));
        assert_eq!(i.payment_intent.as_deref(), Some("pi_3FixtureInvoice1"));
        assert_eq!(i.tax, 380);
    }

    #[test]
    fn an_invoice_without_its_amount_is_unparsed_not_guessed() {
        let mut raw: Value = serde_json::from_slice(&fixtures().into_iter().find(|(n, _)| n.contains("invoice.created")).unwrap().1).unwrap();
        raw["data"]["object"].as_object_mut().unwrap().remove("amount_due");
        let e = StripeEvent::parse(raw.to_string().as_bytes()).unwrap();
        assert!(read(&e, Handling::Invoice).unwrap_err().contains("amount_due"));
    }

    #[test]
    fn a_detached_payment_method_has_no_customer_and_is_not_attached() {
        let e = event("payment_method.detached");
        let BillingUpdate::PaymentMethod(pm) = read(&e, Handling::PaymentMethod).unwrap() else { panic!("a payment method") };
        assert!(!pm.attached && pm.customer.is_none());
        assert_eq!(pm.card_last4.as_deref(), Some("4242"));
    }
}
