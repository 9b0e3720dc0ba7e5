//! Tax rates: the list with a create form, an edit form per rate, deactivate / activate, delete
//! behind a confirmation box, a calculator with the tenant's rates, and a VAT / GST number
//! checker. Every form is an `ActionForm`, so all of it works before hydration.

use leptos::prelude::*;

use crate::{
    components::{ActionError, Confirm, EmptyState, ErrorNote, Loading, MeResource, TableWrap, Toast},
    domain::{tax::dto::TaxRateOut, Action, Currency},
    server_fns::tax::{invoice_tax, list_tax_rates, CalculateTax, CheckTaxNumber, CreateTaxRate, DeleteTaxRate, SetTaxRateActive, UpdateTaxRate},
};

fn money(amount: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {currency}"))
}

fn scope(rate: &TaxRateOut) -> String {
    let mut s = rate.country.clone();
    if let Some(r) = &rate.region {
        s.push_str(&format!("-{r}"));
    }
    if let Some(c) = &rate.tax_code {
        s.push_str(&format!(" · {c}"));
    }
    s
}

#[component]
pub fn TaxRatesPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let manage = move || matches!(me.get(), Some(Ok(Some(ref me))) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::TaxManage)));
    let create = ServerAction::<CreateTaxRate>::new();
    let update = ServerAction::<UpdateTaxRate>::new();
    let toggle = ServerAction::<SetTaxRateActive>::new();
    let delete = ServerAction::<DeleteTaxRate>::new();
    let calc = ServerAction::<CalculateTax>::new();
    let check = ServerAction::<CheckTaxNumber>::new();
    let rates =
        Resource::new(move || (create.version().get(), update.version().get(), toggle.version().get(), delete.version().get()), |_| list_tax_rates());

    view! {
        <h1>"Tax rates"</h1>
        <p class="hint">"Rates apply per country, optionally narrowed to a region and a product tax code; the most specific active rate wins "
            "(country + region + tax code, then country + region, then country + tax code, then country). "
            "With the "<a href="/plugins">"Tax plugin"</a>" on, checkout sessions get the rate's tax: exclusive rates as an extra line, inclusive ones recorded."</p>
        <Show when=manage>
            <ActionForm action=create attr:class="card form" attr:id="create-tax-rate-form">
                <div class="row">
                    <div>
                        <label for="tax-name">"Name"</label>
                        <input id="tax-name" name="name" required maxlength="100" placeholder="VAT DE"/>
                    </div>
                    <div>
                        <label for="tax-country">"Country"</label>
                        <input id="tax-country" name="country" required size="3" maxlength="2" placeholder="DE"/>
                    </div>
                    <div>
                        <label for="tax-region">"Region (optional)"</label>
                        <input id="tax-region" name="region" size="6" placeholder="CA"/>
                    </div>
                    <div>
                        <label for="tax-code">"Tax code (optional)"</label>
                        <input id="tax-code" name="tax_code" size="16" placeholder="txcd_99999999"/>
                    </div>
                    <div>
                        <label for="tax-percentage">"Percentage"</label>
                        <input id="tax-percentage" name="percentage" required size="8" inputmode="decimal" placeholder="19"/>
                    </div>
                </div>
                <label class="checkbox"><input type="checkbox" name="inclusive" value="on"/>" Inclusive: prices already contain this tax"</label>
                <button type="submit">"Add rate"</button>
            </ActionForm>
        </Show>
        <ActionError value=create.value()/>
        <ActionError value=update.value()/>
        <ActionError value=toggle.value()/>
        <ActionError value=delete.value()/>
        {move || delete.value().get().and_then(Result::ok).map(|r| view! { <p class="notice" role="status" id="tax-rate-deleted">{format!("Deleted {}.", r.name)}</p> })}
        <Toast value=super::succeeded(create.value()) message=|r: &TaxRateOut| format!("Tax rate {} ({}%) added.", r.name, r.percentage)/>
        <Toast value=super::succeeded(update.value()) message=|r: &TaxRateOut| format!("Tax rate {} saved.", r.name)/>
        <Toast value=super::succeeded(toggle.value()) message=|r: &TaxRateOut| format!("Tax rate {} {}.", r.name, if r.active { "activated" } else { "deactivated" })/>
        <Toast value=super::succeeded(delete.value()) message=|r: &TaxRateOut| format!("Tax rate {} deleted.", r.name)/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match rates.await {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No tax rates yet" hint="Add a rate per country (and optionally region or tax code) above; checkout applies the most specific active one."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <TableWrap label="Tax rates">
                        <table class="table" id="tax-rates-table">
                            <thead><tr><th>"Name"</th><th>"Where"</th><th>"Rate"</th><th>"Type"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|r| rate_row(r, manage(), update, toggle, delete)).collect_view()}
                            </tbody>
                        </table>
                        </TableWrap>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>

        <h2>"Calculator"</h2>
        <ActionForm action=calc attr:class="card form" attr:id="tax-calculator">
            <div class="row">
                <div><label for="calc-amount">"Amount"</label><input id="calc-amount" name="amount" required size="10" inputmode="decimal" placeholder="100.00"/></div>
                <div><label for="calc-currency">"Currency"</label><input id="calc-currency" name="currency" required size="4" maxlength="3" value="eur"/></div>
                <div><label for="calc-country">"Country"</label><input id="calc-country" name="country" required size="3" maxlength="2" placeholder="DE"/></div>
                <div><label for="calc-region">"Region"</label><input id="calc-region" name="region" size="6"/></div>
                <div><label for="calc-code">"Tax code"</label><input id="calc-code" name="tax_code" size="16"/></div>
            </div>
            <button type="submit">"Calculate"</button>
        </ActionForm>
        <ActionError value=calc.value()/>
        {move || calc.value().get().and_then(Result::ok).map(|r| view! {
            <section class="card" id="tax-calculation" role="status">
                <p>{format!("Net {} + tax {} = {}", money(r.subtotal, &r.currency), money(r.tax, &r.currency), money(r.total, &r.currency))}</p>
                {if r.lines.is_empty() {
                    view! { <p class="hint">"No active rate applies."</p> }.into_any()
                } else {
                    view! { <ul>{r.lines.iter().map(|l| view! { <li>{format!("{} {}%{}: {}", l.name, l.percentage, if l.inclusive { " (inclusive)" } else { "" }, money(l.amount, &r.currency))}</li> }).collect_view()}</ul> }.into_any()
                }}
            </section>
        })}

        <h2>"VAT / GST number check"</h2>
        <ActionForm action=check attr:class="card form" attr:id="tax-number-check">
            <div class="row">
                <div><label for="vat-number">"Number"</label><input id="vat-number" name="number" required size="20" placeholder="DE136695976"/></div>
                <div><label for="vat-country">"Country (AU, CA: numbers have no prefix)"</label><input id="vat-country" name="country" size="3" maxlength="2"/></div>
            </div>
            <button type="submit">"Check"</button>
        </ActionForm>
        <ActionError value=check.value()/>
        {move || check.value().get().and_then(Result::ok).map(|n| view! {
            <p class="notice" role="status" id="tax-number-valid">{format!("{} is a valid {} number ({}{}).", n.number, n.country, n.kind,
                if n.verified == "format" { "; format only, this shape has no check digit" } else { "; check digits verified" })}</p>
        })}
    }
}

fn rate_row(
    r: TaxRateOut,
    manage: bool,
    update: ServerAction<UpdateTaxRate>,
    toggle: ServerAction<SetTaxRateActive>,
    delete: ServerAction<DeleteTaxRate>,
) -> impl IntoView {
    let status = if r.active { "active" } else { "inactive" };
    let badge = if r.active { "badge badge-succeeded" } else { "badge" };
    let (id_edit, id_toggle, id_delete) = (r.id.clone(), r.id.clone(), r.id.clone());
    let next_active = if r.active { "false" } else { "true" };
    let toggle_label = if r.active { "Deactivate" } else { "Activate" };
    let (name, percentage, inclusive) = (r.name.clone(), r.percentage.clone(), r.inclusive);
    let (name_id, pct_id) = (format!("tax-name-{}", r.id), format!("tax-percentage-{}", r.id));
    let consequence = format!(
        "Delete {} ({}%, {})? It is gone for good: new checkouts stop using it and it cannot be restored. Deactivate it instead to keep it for reference.",
        r.name,
        r.percentage,
        scope(&r)
    );
    view! {
        <tr data-rate-id=r.id.clone()>
            <td>{r.name.clone()}</td>
            <td class="mono">{scope(&r)}</td>
            <td>{format!("{}%", r.percentage)}</td>
            <td>{if r.inclusive { "inclusive" } else { "exclusive" }}</td>
            <td><span class=badge>{status}</span></td>
            <td>
                {manage.then(|| view! {
                    <details class="row-edit">
                        <summary>"Edit"</summary>
                        <div class="row-edit-body">
                            <ActionForm action=update attr:class="form">
                                <input type="hidden" name="id" value=id_edit/>
                                <label for=name_id.clone()>"Name"</label>
                                <input id=name_id name="name" required maxlength="100" value=name/>
                                <label for=pct_id.clone()>"Percentage"</label>
                                <input id=pct_id name="percentage" required size="8" inputmode="decimal" value=percentage/>
                                <label class="checkbox"><input type="checkbox" name="inclusive" value="on" checked=inclusive/>" Inclusive"</label>
                                <button type="submit">"Save"</button>
                            </ActionForm>
                            <div class="row">
                                <ActionForm action=toggle attr:class="inline">
                                    <input type="hidden" name="id" value=id_toggle/>
                                    <input type="hidden" name="active" value=next_active/>
                                    <button type="submit" class="secondary">{toggle_label}</button>
                                </ActionForm>
                                <Confirm summary="Delete…" danger=true>
                                    <ActionForm action=delete attr:class="form">
                                        <input type="hidden" name="id" value=id_delete/>
                                        <input type="hidden" name="confirm" value="on"/>
                                        <p>{consequence}</p>
                                        <button type="submit" class="danger solid">"Delete this rate"</button>
                                    </ActionForm>
                                </Confirm>
                            </div>
                        </div>
                    </details>
                })}
            </td>
        </tr>
    }
}

/// An invoice's tax breakdown (subtotal, one line per tax, total), for the invoice page to embed:
/// `<super::tax_rates::InvoiceTaxBreakdown invoice_id=id/>`. Shows nothing to a role without
/// `TaxRead` (the server function refuses) beyond the error note.
#[component]
pub fn InvoiceTaxBreakdown(#[prop(into)] invoice_id: String) -> impl IntoView {
    let breakdown = Resource::new(move || invoice_id.clone(), invoice_tax);
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match breakdown.await {
                    Ok(b) => view! {
                        <table class="table" data-testid="invoice-tax-breakdown">
                            <tbody>
                                <tr><th>"Subtotal"</th><td>{money(b.subtotal, &b.currency)}</td></tr>
                                {b.lines.iter().map(|l| view! {
                                    <tr>
                                        <th>{if l.percentage.is_empty() { l.name.clone() } else { format!("{} ({}%{})", l.name, l.percentage, if l.inclusive { ", inclusive" } else { "" }) }}</th>
                                        <td>{money(l.amount, &b.currency)}</td>
                                    </tr>
                                }).collect_view()}
                                <tr><th>"Total"</th><td>{money(b.total, &b.currency)}</td></tr>
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/invoices/:id/tax`: one invoice's tax breakdown on its own page (linked from the invoice).
#[component]
pub fn InvoiceTaxPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let id = params.read_untracked().get("id").unwrap_or_default();
    view! {
        <h1>"Invoice tax"</h1>
        <p class="hint mono">{id.clone()}</p>
        <InvoiceTaxBreakdown invoice_id=id/>
    }
}
