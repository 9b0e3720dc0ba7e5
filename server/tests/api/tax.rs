//! Tax over HTTP on SQLite and Postgres: rates CRUD and its validation errors, calculations with
//! the most specific rate, VAT / GST number checks, invoice tax breakdowns, tenant isolation, and
//! the tax lines a checkout session carries to the Stripe double when the `tax` plugin is on.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use paybus_server::stripe_mock::StripeMock as StripeDouble;

use crate::helpers::*;

async fn create_rate(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, rate) = app.post("/api/v1/tax-rates", Some(token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{rate}");
    rate
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PATCH, path, Some(token), Some(body)).await
}

fn rand_body() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..24].to_owned()
}

crate::both_backends! {
    async fn tax_rates_are_created_listed_changed_deactivated_and_deleted(app: TestApp) {
        let owner = app.user(&unique_email("tax-crud")).await;
        let token = owner.token.as_str();

        let de = create_rate(&app, token, json!({ "name": "VAT DE", "country": "de", "percentage": "19" })).await;
        assert_eq!(de["object"], "tax_rate");
        assert!(de["id"].as_str().unwrap().starts_with("txr_"), "{de}");
        assert_eq!((de["country"].clone(), de["percentage"].clone(), de["inclusive"].clone(), de["active"].clone()), (json!("DE"), json!("19"), json!(false), json!(true)));
        assert_eq!(de["region"], Value::Null);
        let ny = create_rate(&app, token, json!({ "name": "NYC sales tax", "country": "US", "region": "US-NY", "percentage": 8.875 })).await;
        assert_eq!((ny["region"].clone(), ny["percentage"].clone()), (json!("NY"), json!("8.875")), "a JSON number is read through its decimal text");
        let books = create_rate(&app, token, json!({ "name": "VAT DE books", "country": "DE", "tax_code": "txcd_35010000", "percentage": "7", "inclusive": true })).await;
        assert_eq!(books["inclusive"], true);

        // Listed newest first, with cursors.
        let (status, page) = app.get("/api/v1/tax-rates?limit=2", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["object"], "list");
        assert_eq!(page["has_more"], true);
        let first: Vec<&str> = page["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(first, vec![books["id"].as_str().unwrap(), ny["id"].as_str().unwrap()]);
        let (_, rest) = app.get(&format!("/api/v1/tax-rates?limit=2&starting_after={}", ny["id"].as_str().unwrap()), Some(token)).await;
        assert_eq!(rest["data"].as_array().unwrap().len(), 1);
        assert_eq!(rest["data"][0]["id"], de["id"]);
        assert_eq!(rest["has_more"], false);

        // Change the percentage and name; the rest stays.
        let de_path = format!("/api/v1/tax-rates/{}", de["id"].as_str().unwrap());
        let (status, changed) = patch(&app, token, &de_path, json!({ "percentage": "16", "name": "VAT DE (reduced period)" })).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!((changed["percentage"].clone(), changed["name"].clone(), changed["country"].clone()), (json!("16"), json!("VAT DE (reduced period)"), json!("DE")));
        let (_, fetched) = app.get(&de_path, Some(token)).await;
        assert_eq!(fetched, changed);

        // One active rate per scope; a deactivated one frees it, and cannot come back while taken.
        let (status, dup) = app.post("/api/v1/tax-rates", Some(token), json!({ "name": "VAT DE again", "country": "DE", "percentage": "19" })).await;
        assert_eq!(error_code(status, &dup, StatusCode::CONFLICT), "tax_rate_exists");
        let (status, off) = patch(&app, token, &de_path, json!({ "active": false })).await;
        assert_eq!(status, StatusCode::OK, "{off}");
        assert_eq!(off["active"], false);
        let de2 = create_rate(&app, token, json!({ "name": "VAT DE", "country": "DE", "percentage": "19" })).await;
        let (status, back) = patch(&app, token, &de_path, json!({ "active": true })).await;
        assert_eq!(error_code(status, &back, StatusCode::CONFLICT), "tax_rate_exists");

        // Delete answers the rate once; then it is gone.
        let de2_path = format!("/api/v1/tax-rates/{}", de2["id"].as_str().unwrap());
        let (status, deleted) = app.call(Method::DELETE, &de2_path, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{deleted}");
        assert_eq!(deleted["id"], de2["id"]);
        let (status, gone) = app.get(&de2_path, Some(token)).await;
        assert_eq!(error_code(status, &gone, StatusCode::NOT_FOUND), "resource_missing");
        let (status, again) = app.call(Method::DELETE, &de2_path, Some(token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{again}");
        let (_, all) = app.get("/api/v1/tax-rates?limit=100", Some(token)).await;
        assert_eq!(all["data"].as_array().unwrap().len(), 3);

        // Validation errors name the parameter.
        let cases = [
            (json!({ "name": "x", "country": "Germany", "percentage": "19" }), StatusCode::BAD_REQUEST, "country_invalid", "country"),
            (json!({ "name": "x", "country": "DE", "percentage": "101" }), StatusCode::BAD_REQUEST, "percentage_invalid", "percentage"),
            (json!({ "name": "x", "country": "DE", "percentage": "-1" }), StatusCode::BAD_REQUEST, "percentage_invalid", "percentage"),
            (json!({ "name": "x", "country": "DE", "percentage": "7.12345" }), StatusCode::BAD_REQUEST, "percentage_invalid", "percentage"),
            (json!({ "name": "x", "country": "DE", "percentage": "1e1" }), StatusCode::BAD_REQUEST, "percentage_invalid", "percentage"),
            (json!({ "name": " ", "country": "DE", "percentage": "19" }), StatusCode::BAD_REQUEST, "name_invalid", "name"),
            (json!({ "name": "x", "country": "US", "region": "California", "percentage": "7" }), StatusCode::BAD_REQUEST, "region_invalid", "region"),
            (json!({ "name": "x", "country": "US", "tax_code": "no spaces please", "percentage": "7" }), StatusCode::BAD_REQUEST, "tax_code_invalid", "tax_code"),
        ];
        for (body, expected_status, code, param) in cases {
            let (status, error) = app.post("/api/v1/tax-rates", Some(token), body.clone()).await;
            assert_eq!(error_code(status, &error, expected_status), code, "{body}");
            assert_eq!(error["error"]["param"], param, "{body}: {error}");
        }
        let (status, unknown) = app.post("/api/v1/tax-rates", Some(token), json!({ "name": "x", "country": "DE", "percentage": "19", "rate": 19 })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{unknown}");
        let (status, bad_patch) = patch(&app, token, &de_path, json!({ "percentage": "abc" })).await;
        assert_eq!(error_code(status, &bad_patch, StatusCode::BAD_REQUEST), "percentage_invalid");
        let (status, malformed) = app.get("/api/v1/tax-rates/not-an-id", Some(token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{malformed}");
    }
}

crate::both_backends! {
    async fn a_calculation_uses_the_most_specific_active_rate_and_rounds_per_currency(app: TestApp) {
        let owner = app.user(&unique_email("tax-calc")).await;
        let token = owner.token.as_str();
        create_rate(&app, token, json!({ "name": "US default", "country": "US", "percentage": "5" })).await;
        let ca = create_rate(&app, token, json!({ "name": "CA sales tax", "country": "US", "region": "CA", "percentage": "7.25" })).await;
        let books = create_rate(&app, token, json!({ "name": "CA books", "country": "US", "region": "CA", "tax_code": "txcd_books", "percentage": "2" })).await;
        create_rate(&app, token, json!({ "name": "Consumption tax", "country": "JP", "percentage": "10", "inclusive": true })).await;
        create_rate(&app, token, json!({ "name": "VAT KW", "country": "KW", "percentage": "5" })).await;

        let calc = |body: Value| async { app.post("/api/v1/tax/calculate", Some(token), body).await };

        let (status, r) = calc(json!({ "amount": 1000, "currency": "usd", "country": "US", "region": "CA" })).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!((r["subtotal"].clone(), r["tax"].clone(), r["total"].clone()), (json!(1000), json!(73), json!(1073)), "7.25% of 10.00 = 0.725 → 0.73");
        assert_eq!(r["lines"][0]["tax_rate_id"], ca["id"]);
        let (_, r) = calc(json!({ "amount": 1000, "currency": "usd", "country": "US", "region": "CA", "tax_code": "txcd_books" })).await;
        assert_eq!(r["lines"][0]["tax_rate_id"], books["id"]);
        assert_eq!(r["tax"], 20);
        let (_, r) = calc(json!({ "amount": 1000, "currency": "usd", "country": "us", "region": "TX" })).await;
        assert_eq!((r["tax"].clone(), r["lines"][0]["name"].clone()), (json!(50), json!("US default")));

        // Inclusive yen: the amount already holds the tax.
        let (_, r) = calc(json!({ "amount": 1100, "currency": "jpy", "country": "JP" })).await;
        assert_eq!((r["subtotal"].clone(), r["tax"].clone(), r["total"].clone()), (json!(1000), json!(100), json!(1100)));
        assert_eq!(r["lines"][0]["inclusive"], true);
        // Kuwaiti dinar: three decimals, tax in multiples of 10 fils.
        let (_, r) = calc(json!({ "amount": 1230, "currency": "kwd", "country": "KW" })).await;
        assert_eq!((r["tax"].clone(), r["total"].clone()), (json!(60), json!(1290)), "{r}");

        // No rate: no tax, no lines.
        let (status, r) = calc(json!({ "amount": 1000, "currency": "eur", "country": "FR" })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((r["tax"].clone(), r["total"].clone(), r["lines"].clone()), (json!(0), json!(1000), json!([])));

        // A deactivated rate no longer applies.
        let (status, _) = patch(&app, token, &format!("/api/v1/tax-rates/{}", books["id"].as_str().unwrap()), json!({ "active": false })).await;
        assert_eq!(status, StatusCode::OK);
        let (_, r) = calc(json!({ "amount": 1000, "currency": "usd", "country": "US", "region": "CA", "tax_code": "txcd_books" })).await;
        assert_eq!(r["lines"][0]["tax_rate_id"], ca["id"]);

        for (body, code) in [
            (json!({ "amount": 0, "currency": "usd", "country": "US" }), "amount_invalid"),
            (json!({ "amount": 1005, "currency": "kwd", "country": "KW" }), "amount_invalid"),
            (json!({ "amount": 100, "currency": "dollars", "country": "US" }), "currency_invalid"),
            (json!({ "amount": 100, "currency": "usd", "country": "USA" }), "country_invalid"),
        ] {
            let (status, error) = calc(body.clone()).await;
            assert_eq!(error_code(status, &error, StatusCode::BAD_REQUEST), code, "{body}");
        }
    }
}

crate::both_backends! {
    async fn tax_numbers_are_checked_offline_and_errors_name_the_failed_rule(app: TestApp) {
        let owner = app.user(&unique_email("tax-vat")).await;
        let check = |body: Value| async { app.post("/api/v1/tax/validate-number", Some(&owner.token), body).await };

        let (status, ok) = check(json!({ "number": "DE 136 695 976" })).await;
        assert_eq!(status, StatusCode::OK, "{ok}");
        assert_eq!((ok["valid"].clone(), ok["country"].clone(), ok["kind"].clone(), ok["number"].clone(), ok["verified"].clone()),
            (json!(true), json!("DE"), json!("eu_vat"), json!("DE136695976"), json!("check_digit")));
        let (status, abn) = check(json!({ "number": "51 824 753 556", "country": "AU" })).await;
        assert_eq!(status, StatusCode::OK, "{abn}");
        assert_eq!(abn["kind"], "au_abn");
        let (status, gb) = check(json!({ "number": "GB980780684" })).await;
        assert_eq!((status, gb["kind"].clone()), (StatusCode::OK, json!("gb_vat")));

        let (status, shape) = check(json!({ "number": "DE13669597" })).await;
        assert_eq!(error_code(status, &shape, StatusCode::BAD_REQUEST), "vat_number_invalid");
        assert_eq!(shape["error"]["message"], "vat_number_invalid: DE numbers are DE + 9 digits, the first not 0");
        assert_eq!(shape["error"]["param"], "number");
        let (status, digit) = check(json!({ "number": "DE136695906" })).await;
        assert_eq!(error_code(status, &digit, StatusCode::UNPROCESSABLE_ENTITY), "vat_check_digit_mismatch");
        assert!(digit["error"]["message"].as_str().unwrap().starts_with("check digit mismatch for DE"), "{digit}");
        let (status, unknown) = check(json!({ "number": "US123456789" })).await;
        assert_eq!(error_code(status, &unknown, StatusCode::BAD_REQUEST), "vat_country_unsupported");
        let (status, ca) = check(json!({ "number": "123456783", "country": "CA" })).await;
        assert_eq!(error_code(status, &ca, StatusCode::UNPROCESSABLE_ENTITY), "vat_check_digit_mismatch");
    }
}

/// An invoice as the billing mirror stores it (for a customer in `country`), written directly.
async fn mirrored_invoice(app: &TestApp, tenant: &str, country: &str, subtotal: i64, tax: i64) -> String {
    let customer = format!("cst_{}", rand_body());
    let invoice = format!("inv_{}", rand_body());
    app.execute(&format!(
        "INSERT INTO customers (id, tenant_id, stripe_customer_id, country, created_at, updated_at) VALUES ('{customer}', '{tenant}', 'cus_{}', '{country}', 1, 1)",
        rand_body()
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO invoices (id, tenant_id, stripe_invoice_id, customer_id, status, currency, amount_due, subtotal, tax, total, created_at, updated_at)
         VALUES ('{invoice}', '{tenant}', 'in_{}', '{customer}', 'open', 'eur', {total}, {subtotal}, {tax}, {total}, 1, 1)",
        rand_body(),
        total = subtotal + tax
    ))
    .await;
    invoice
}

crate::both_backends! {
    async fn an_invoice_shows_stripes_tax_amounts_or_the_rate_that_explains_its_tax(app: TestApp) {
        let owner = app.user(&unique_email("tax-invoice")).await;
        let token = owner.token.as_str();
        let rate = create_rate(&app, token, json!({ "name": "VAT DE", "country": "DE", "percentage": "19" })).await;

        // Explained by the tenant's rate for the customer's country.
        let invoice = mirrored_invoice(&app, &owner.tenant, "DE", 10_000, 1_900).await;
        let (status, b) = app.get(&format!("/api/v1/invoices/{invoice}/tax"), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{b}");
        assert_eq!((b["object"].clone(), b["subtotal"].clone(), b["tax"].clone(), b["total"].clone()), (json!("tax_breakdown"), json!(10_000), json!(1_900), json!(11_900)));
        assert_eq!(b["lines"].as_array().unwrap().len(), 1);
        assert_eq!((b["lines"][0]["tax_rate_id"].clone(), b["lines"][0]["percentage"].clone(), b["lines"][0]["amount"].clone()), (rate["id"].clone(), json!("19"), json!(1_900)));

        // Tax our rates do not explain: Stripe's total as one unnamed line, no invented rate.
        let other = mirrored_invoice(&app, &owner.tenant, "DE", 10_000, 700).await;
        let (_, b) = app.get(&format!("/api/v1/invoices/{other}/tax"), Some(token)).await;
        assert_eq!((b["lines"][0]["tax_rate_id"].clone(), b["lines"][0]["amount"].clone(), b["lines"][0]["percentage"].clone()), (Value::Null, json!(700), json!("")));

        // Stripe's own total_tax_amounts, when stored, are the breakdown.
        app.execute(&format!(
            "INSERT INTO invoice_tax_amounts (invoice_id, position, tenant_id, name, percentage_e4, inclusive, taxable_amount, amount) VALUES
             ('{other}', 0, '{}', 'VAT DE reduced', 70000, 0, 10000, 700)",
            owner.tenant
        ))
        .await;
        let (_, b) = app.get(&format!("/api/v1/invoices/{other}/tax"), Some(token)).await;
        assert_eq!((b["lines"][0]["name"].clone(), b["lines"][0]["percentage"].clone(), b["lines"][0]["amount"].clone()), (json!("VAT DE reduced"), json!("7"), json!(700)));

        // An untaxed invoice has no lines.
        let untaxed = mirrored_invoice(&app, &owner.tenant, "FR", 5_000, 0).await;
        let (_, b) = app.get(&format!("/api/v1/invoices/{untaxed}/tax"), Some(token)).await;
        assert_eq!((b["tax"].clone(), b["lines"].clone()), (json!(0), json!([])));

        // The invoice's tax page shows the same breakdown.
        let browser = browser();
        let (status, _) = submit::<app::server_fns::account::Login>(&app, &browser, &[("email", owner.email.as_str()), ("password", PASSWORD)]).await;
        assert!(status.is_success() || status.is_redirection(), "login: {status}");
        let res = browser.get(app.url(&format!("/invoices/{invoice}/tax"))).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("data-testid=\"invoice-tax-breakdown\""), "{html}");
        assert!(html.contains("VAT DE (19%") && html.contains("19.00 EUR") && html.contains("119.00 EUR"), "{html}");

        let (status, missing) = app.get(&format!("/api/v1/invoices/inv_{}/tax", rand_body()), Some(token)).await;
        assert_eq!(error_code(status, &missing, StatusCode::NOT_FOUND), "resource_missing");
    }
}

crate::both_backends! {
    async fn another_tenants_tax_rates_and_invoices_are_not_found_and_never_applied(app: TestApp) {
        let alice = app.user(&unique_email("tax-alice")).await;
        let bob = app.user(&unique_email("tax-bob")).await;
        let bobs_rate = create_rate(&app, &bob.token, json!({ "name": "Bob's secret VAT", "country": "DE", "percentage": "19" })).await;
        let bobs_invoice = mirrored_invoice(&app, &bob.tenant, "DE", 10_000, 1_900).await;
        let rate_path = format!("/api/v1/tax-rates/{}", bobs_rate["id"].as_str().unwrap());

        for (method, path, body) in [
            (Method::GET, rate_path.clone(), None),
            (Method::PATCH, rate_path.clone(), Some(json!({ "percentage": "1" }))),
            (Method::PATCH, rate_path.clone(), Some(json!({ "active": false }))),
            (Method::DELETE, rate_path.clone(), None),
            (Method::GET, format!("/api/v1/invoices/{bobs_invoice}/tax"), None),
        ] {
            let (status, answer) = app.call(method.clone(), &path, Some(&alice.token), body).await;
            assert_eq!(error_code(status, &answer, StatusCode::NOT_FOUND), "resource_missing", "{method} {path}");
            assert!(!answer.to_string().contains("Bob's secret VAT"), "{answer}");
        }
        let (_, list) = app.get("/api/v1/tax-rates", Some(&alice.token)).await;
        assert_eq!(list["data"], json!([]));
        let (_, calc) = app.post("/api/v1/tax/calculate", Some(&alice.token), json!({ "amount": 1000, "currency": "eur", "country": "DE" })).await;
        assert_eq!(calc["tax"], 0, "Bob's rate never applies to Alice: {calc}");
        let (_, paginate) = app.get(&format!("/api/v1/tax-rates?starting_after={}", bobs_rate["id"].as_str().unwrap()), Some(&alice.token)).await;
        assert_eq!(paginate["error"]["code"], "resource_missing", "{paginate}");

        // Bob's rate is untouched.
        let (status, still) = app.get(&rate_path, Some(&bob.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((still["percentage"].clone(), still["active"].clone()), (json!("19"), json!(true)));
    }
}

// ---- checkout --------------------------------------------------------------------------------

async fn post_with_key(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let key = uuid::Uuid::new_v4().to_string();
    app.call_with(Method::POST, path, Some(token), Some(body), &[("Idempotency-Key", key.as_str())]).await
}

async fn onboarded_merchant(app: &TestApp, double: &StripeDouble) -> TestUser {
    let owner = app.user(&unique_email("tax-merchant")).await;
    let (status, account) = post_with_key(app, "/api/v1/connect/accounts", &owner.token, json!({ "email": owner.email })).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    double.complete_onboarding(account["account_id"].as_str().unwrap());
    let (status, refreshed) = app.get("/api/v1/connect/account", Some(&owner.token)).await;
    assert_eq!((status, refreshed["charges_enabled"].clone()), (StatusCode::OK, json!(true)), "{refreshed}");
    owner
}

fn cart(country: Option<&str>) -> Value {
    let mut body = json!({
        "line_items": [{ "name": "T-shirt", "unit_amount": 2500, "quantity": 2 }],
        "currency": "eur",
        "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart"
    });
    if let Some(c) = country {
        body["tax_country"] = json!(c);
    }
    body
}

crate::with_stripe! {
    async fn a_checkout_session_carries_tax_lines_to_stripe_when_the_tax_plugin_is_on(app: TestApp, double: StripeDouble) {
        let merchant = onboarded_merchant(&app, &double).await;
        let token = merchant.token.as_str();
        let (status, eur) = app.post("/api/v1/currencies", Some(token), json!({ "currency": "eur", "enabled": true })).await;
        assert_eq!(status, StatusCode::OK, "{eur}");
        let de = create_rate(&app, token, json!({ "name": "VAT DE", "country": "DE", "percentage": "19" })).await;
        create_rate(&app, token, json!({ "name": "VAT AT", "country": "AT", "percentage": "20", "inclusive": true })).await;

        // The plugin is off by default, and healthy once a rate exists.
        let (_, tax_plugin) = app.get("/api/v1/plugins/tax", Some(token)).await;
        assert_eq!((tax_plugin["enabled"].clone(), tax_plugin["default_enabled"].clone()), (json!(false), json!(false)), "{tax_plugin}");
        assert_eq!(tax_plugin["health"]["status"], "healthy", "{tax_plugin}");

        // Off: rates alone change nothing at checkout.
        let (status, plain) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(Some("DE"))).await;
        assert_eq!(status, StatusCode::CREATED, "{plain}");
        assert_eq!((plain["amount_total"].clone(), plain["amount_tax"].clone()), (json!(5000), json!(0)));
        let sent = double.requests_to("/v1/checkout/sessions").pop().unwrap();
        assert_eq!(sent.param("line_items[1][price_data][unit_amount]"), None);

        let (status, on) = app.call(Method::PUT, "/api/v1/plugins/tax", Some(token), Some(json!({ "enabled": true }))).await;
        assert_eq!(status, StatusCode::OK, "{on}");

        // Exclusive: one more line, and Stripe's total includes it.
        let (status, taxed) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(Some("de"))).await;
        assert_eq!(status, StatusCode::CREATED, "{taxed}");
        assert_eq!((taxed["amount_total"].clone(), taxed["amount_tax"].clone()), (json!(5950), json!(950)));
        let sent = double.requests_to("/v1/checkout/sessions").pop().unwrap();
        assert_eq!(sent.param("line_items[0][price_data][unit_amount]"), Some("2500"));
        assert_eq!(sent.param("line_items[1][price_data][unit_amount]"), Some("950"));
        assert_eq!(sent.param("line_items[1][quantity]"), Some("1"));
        assert_eq!(sent.param("line_items[1][price_data][product_data][name]"), Some("VAT DE (19%)"));
        assert_eq!(sent.param("metadata[paybus_tax_rate]"), de["id"].as_str());
        assert_eq!(sent.param("metadata[paybus_tax_amount]"), Some("950"));
        let (_, listed) = app.get("/api/v1/checkout-sessions", Some(token)).await;
        assert_eq!(listed["data"][0]["amount_tax"], 950, "{listed}");

        // Inclusive: prices already hold the tax; recorded, not added.
        let (status, inclusive) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(Some("AT"))).await;
        assert_eq!(status, StatusCode::CREATED, "{inclusive}");
        assert_eq!((inclusive["amount_total"].clone(), inclusive["amount_tax"].clone()), (json!(5000), json!(833)));
        let sent = double.requests_to("/v1/checkout/sessions").pop().unwrap();
        assert_eq!(sent.param("line_items[1][price_data][unit_amount]"), None);
        assert_eq!(sent.param("metadata[paybus_tax_inclusive]"), Some("true"));
        assert_eq!(sent.param("metadata[paybus_tax_amount]"), Some("833"));

        // No country, or no rate for it: no tax. The plugin's default country fills in.
        let (_, none) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(None)).await;
        assert_eq!(none["amount_tax"], 0);
        let (_, fr) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(Some("FR"))).await;
        assert_eq!(fr["amount_tax"], 0);
        let (status, configured) = app.call(Method::PUT, "/api/v1/plugins/tax", Some(token), Some(json!({ "config": { "default_country": "DE" } }))).await;
        assert_eq!(status, StatusCode::OK, "{configured}");
        let (_, defaulted) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(None)).await;
        assert_eq!(defaulted["amount_tax"], 950, "{defaulted}");
        let (status, tried) = app.post("/api/v1/plugins/tax/test", Some(token), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{tried}");
        assert_eq!(tried["message"], "A 100.00 sale in DE uses VAT DE (19%): tax 19.00 EUR, total 119.00 EUR.", "{tried}");

        // Tax at checkout can be switched off in the plugin's settings.
        let (status, _) = app.call(Method::PUT, "/api/v1/plugins/tax", Some(token), Some(json!({ "config": { "checkout_tax": false } }))).await;
        assert_eq!(status, StatusCode::OK);
        let (_, untaxed) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(Some("DE"))).await;
        assert_eq!((untaxed["amount_total"].clone(), untaxed["amount_tax"].clone()), (json!(5000), json!(0)));

        let (status, bad) = post_with_key(&app, "/api/v1/checkout-sessions", token, cart(Some("Germany"))).await;
        assert_eq!(error_code(status, &bad, StatusCode::BAD_REQUEST), "country_invalid");
        assert_eq!(bad["error"]["param"], "tax_country");
    }
}

// ---- the dashboard page ----------------------------------------------------------------------

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Posts a server function's form as the signed-in browser; the JSON answer and status.
async fn submit<F: leptos::server_fn::ServerFn>(app: &TestApp, browser: &reqwest::Client, form: &[(&str, &str)]) -> (StatusCode, String) {
    let res = browser.post(app.url(F::PATH)).header("origin", &app.base).form(form).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

crate::both_backends! {
    async fn the_tax_rates_page_lists_rates_and_its_forms_edit_delete_calculate_and_check(app: TestApp) {
        use app::server_fns::{account::Login, tax::*};
        let owner = app.user(&unique_email("tax-page")).await;
        let browser = browser();
        let (status, _) = submit::<Login>(&app, &browser, &[("email", owner.email.as_str()), ("password", PASSWORD)]).await;
        assert!(status.is_success() || status.is_redirection(), "login: {status}");

        let page = || async {
            let res = browser.get(app.url("/tax-rates")).header("accept", "text/html").send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.text().await.unwrap()
        };
        assert!(page().await.contains("No tax rates yet"), "the empty state shows before any rate exists");

        let (status, created) = submit::<CreateTaxRate>(&app, &browser, &[("name", "VAT DE"), ("country", "de"), ("region", ""), ("tax_code", ""), ("percentage", "19")]).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let created: Value = serde_json::from_str(&created).unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let row = |html: String| {
            let at = html.find(&format!("data-rate-id=\"{id}\"")).unwrap_or_else(|| panic!("no row for {id}: {html}"));
            html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
        };
        let created_row = row(page().await);
        assert!(created_row.contains(">19%<") && created_row.contains(">exclusive<") && created_row.contains(">DE<"), "{created_row}");

        let (status, edited) = submit::<UpdateTaxRate>(&app, &browser, &[("id", &id), ("name", "VAT DE"), ("percentage", "19"), ("inclusive", "on")]).await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        let edited_row = row(page().await);
        assert!(edited_row.contains(">inclusive<") && !edited_row.contains(">exclusive<"), "{edited_row}");

        let (status, calc) = submit::<CalculateTax>(&app, &browser, &[("amount", "119.00"), ("currency", "eur"), ("country", "DE"), ("region", ""), ("tax_code", "")]).await;
        assert_eq!(status, StatusCode::OK, "{calc}");
        let calc: Value = serde_json::from_str(&calc).unwrap();
        assert_eq!((calc["subtotal"].clone(), calc["tax"].clone()), (json!(10_000), json!(1_900)));

        let (status, number) = submit::<CheckTaxNumber>(&app, &browser, &[("number", "ATU13585627"), ("country", "")]).await;
        assert_eq!(status, StatusCode::OK, "{number}");
        let (status, bad) = submit::<CheckTaxNumber>(&app, &browser, &[("number", "ATU13585607"), ("country", "")]).await;
        assert!(!status.is_success() && bad.contains("check digit mismatch for AT"), "{status} {bad}");

        // Deleting needs the confirmation box.
        let (status, refused) = submit::<DeleteTaxRate>(&app, &browser, &[("id", &id)]).await;
        assert!(!status.is_success() && refused.contains("confirmation_required"), "{status} {refused}");
        let (_, still) = app.get(&format!("/api/v1/tax-rates/{id}"), Some(&owner.token)).await;
        assert_eq!(still["id"], id.as_str());
        let (status, deleted) = submit::<DeleteTaxRate>(&app, &browser, &[("id", &id), ("confirm", "on")]).await;
        assert_eq!(status, StatusCode::OK, "{deleted}");
        let (status, _) = app.get(&format!("/api/v1/tax-rates/{id}"), Some(&owner.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page().await.contains("No tax rates yet"), "the empty state is back once the last rate is deleted");
    }
}

crate::both_backends! {
    async fn the_openapi_document_describes_the_tax_endpoints(app: TestApp) {
        let (status, doc) = app.get("/api/v1/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        for (path, method) in [
            ("/api/v1/tax-rates", "get"), ("/api/v1/tax-rates", "post"), ("/api/v1/tax-rates/{id}", "get"), ("/api/v1/tax-rates/{id}", "patch"),
            ("/api/v1/tax-rates/{id}", "delete"), ("/api/v1/tax/calculate", "post"), ("/api/v1/tax/validate-number", "post"), ("/api/v1/invoices/{id}/tax", "get"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
        }
        for schema in ["TaxRateIn", "TaxRateOut", "TaxResult", "TaxNumberOut"] {
            assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} missing");
        }
    }
}
