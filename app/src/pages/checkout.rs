//! Hosted checkout: create a Stripe Checkout link for an amount or a product, manage products
//! with purchase limits, and see recent sessions.

use leptos::prelude::*;

use crate::{
    components::{ActionError, EmptyState, ErrorNote, Loading, MeResource, TableWrap, Toast},
    domain::{Action, Currency},
    server_fns::stripe_out::{list_checkout_sessions, list_products, CreateCheckout, CreateProduct},
};

fn money(amount: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {currency}"))
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let checkout = ServerAction::<CreateCheckout>::new();
    let product = ServerAction::<CreateProduct>::new();
    let products = Resource::new(move || product.version().get(), |_| list_products());
    let sessions = Resource::new(move || checkout.version().get(), |_| list_checkout_sessions());

    view! {
        <h1>"Checkout"</h1>
        {move || match checkout.value().get() {
            Some(Ok(created)) => Some(view! {
                <section class="card" role="status" id="checkout-created">
                    <h2>"Checkout link ready: "{money(created.amount_total, &created.currency)}</h2>
                    <p>"Send your customer to:"</p>
                    <a class="mono" href=created.url.clone().unwrap_or_default() target="_blank" rel="noopener">{created.url.clone().unwrap_or_default()}</a>
                </section>
            }),
            _ => None,
        }}
        <ActionError value=checkout.value()/>
        <Toast value=super::succeeded(checkout.value()) message=|c: &crate::domain::stripe_out::CheckoutSessionOut| format!("Checkout link for {} ready.", money(c.amount_total, &c.currency))/>
        <Toast value=super::succeeded(product.value()) message=|p: &crate::domain::stripe_out::ProductOut| format!("Product {} added at {}.", p.name, money(p.unit_amount, &p.currency))/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let role = match me.await { Ok(Some(ref me)) => MeResource::role_in_active(me), _ => None };
                let can_checkout = role.is_some_and(|r| r.can(Action::CheckoutCreate));
                let can_products = role.is_some_and(|r| r.can(Action::ProductsManage));
                let product_options = match products.await {
                    Ok(list) => list.data,
                    Err(_) => vec![],
                };
                view! {
                    {can_checkout.then(|| view! {
                        <ActionForm action=checkout attr:class="card form" attr:id="checkout-form">
                            <h2>"New checkout link"</h2>
                            <p class="hint">"Creates a Stripe-hosted payment page. Nothing is charged until your customer pays on it."</p>
                            <div class="row">
                                <div>
                                    <label for="checkout-product">"Product"</label>
                                    <select id="checkout-product" name="product_id">
                                        <option value="">"— an amount instead —"</option>
                                        {product_options.iter().map(|p| view! { <option value=p.id.clone()>{format!("{} ({})", p.name, money(p.unit_amount, &p.currency))}</option> }).collect_view()}
                                    </select>
                                </div>
                                <div>
                                    <label for="checkout-amount">"Amount"</label>
                                    <input id="checkout-amount" name="amount" inputmode="decimal" placeholder="25.00"/>
                                </div>
                                <div>
                                    <label for="checkout-currency">"Currency"</label>
                                    <input id="checkout-currency" name="currency" value="usd" maxlength="3" size="4"/>
                                </div>
                                <div>
                                    <label for="checkout-description">"Description"</label>
                                    <input id="checkout-description" name="description" placeholder="Donation"/>
                                </div>
                            </div>
                            <div class="row">
                                <div>
                                    <label for="checkout-success">"Success URL"</label>
                                    <input id="checkout-success" name="success_url" type="url" required placeholder="https://shop.example/thanks"/>
                                </div>
                                <div>
                                    <label for="checkout-cancel">"Cancel URL"</label>
                                    <input id="checkout-cancel" name="cancel_url" type="url" required placeholder="https://shop.example/cart"/>
                                </div>
                                <div>
                                    <label for="checkout-email">"Customer email (optional)"</label>
                                    <input id="checkout-email" name="customer_email" type="email"/>
                                </div>
                            </div>
                            <button type="submit">"Create checkout link"</button>
                        </ActionForm>
                    })}
                    {can_products.then(|| view! {
                        <ActionForm action=product attr:class="card form row" attr:id="product-form">
                            <h2 class="form-title">"New product"</h2>
                            <div>
                                <label for="product-name">"Product"</label>
                                <input id="product-name" name="name" required maxlength="250" placeholder="Concert ticket"/>
                            </div>
                            <div>
                                <label for="product-amount">"Price"</label>
                                <input id="product-amount" name="unit_amount" required inputmode="decimal" placeholder="40.00"/>
                            </div>
                            <div>
                                <label for="product-currency">"Currency"</label>
                                <input id="product-currency" name="currency" value="usd" maxlength="3" size="4"/>
                            </div>
                            <div>
                                <label for="product-max">"Max purchases (optional)"</label>
                                <input id="product-max" name="max_purchases" inputmode="numeric" placeholder="100"/>
                            </div>
                            <button type="submit">"Add product"</button>
                        </ActionForm>
                    })}
                }
            })}
        </Suspense>
        <ActionError value=product.value()/>
        <h2>"Products"</h2>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match products.await {
                    Ok(list) if list.data.is_empty() => view! {
                        <EmptyState title="No products yet" hint="Add a product with a price (and an optional purchase limit) to sell it through checkout links."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <TableWrap label="Products">
                        <table class="table" id="products-table">
                            <thead><tr><th>"Name"</th><th>"Price"</th><th>"Sold"</th><th>"Limit"</th></tr></thead>
                            <tbody>
                                {list.data.into_iter().map(|p| view! {
                                    <tr>
                                        <td>{p.name.clone()}</td>
                                        <td>{money(p.unit_amount, &p.currency)}</td>
                                        <td>{p.purchases}</td>
                                        <td>{p.max_purchases.map(|m| m.to_string()).unwrap_or_else(|| "unlimited".into())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </TableWrap>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
        <h2>"Recent checkout sessions"</h2>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    Ok(list) if list.data.is_empty() => view! {
                        <EmptyState title="No checkout sessions yet" hint="Links you create above show here with their status once customers open them."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <TableWrap label="Recent checkout sessions">
                        <table class="table" id="checkout-sessions-table">
                            <thead><tr><th>"Created"</th><th>"Amount"</th><th>"Status"</th><th>"Link"</th></tr></thead>
                            <tbody>
                                {list.data.into_iter().map(|s| view! {
                                    <tr>
                                        <td>{super::short_time(&s.created_at)}</td>
                                        <td>{money(s.amount_total, &s.currency)}</td>
                                        <td><span class=format!("badge badge-{}", s.status.replace(|c: char| !c.is_ascii_lowercase() && c != '_', ""))>{s.status.clone()}</span></td>
                                        <td>{s.url.clone().map(|u| view! { <a href=u target="_blank" rel="noopener" aria-label=format!("Open the checkout page for {}", money(s.amount_total, &s.currency))>"open"</a> })}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </TableWrap>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
