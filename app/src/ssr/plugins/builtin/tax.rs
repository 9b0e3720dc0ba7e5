//! `tax`: the switch and settings for tax at checkout. Rates themselves are managed through
//! `/api/v1/tax-rates` (the Tax rates page); when this plugin is on, checkout-session creation
//! adds the applicable rate's tax (see `services::tax::for_checkout`). It listens to no events:
//! tax is computed in the request that creates the session, before Stripe is called.

use async_trait::async_trait;

use crate::{
    domain::{tax::calc, Currency, PrefixedId},
    error::AppError,
    ssr::{
        bus::{Delivery, ListenerError},
        plugins::{Field, FieldKind, Health, Manifest, Plugin, PluginConfig, PluginCtx},
        services::tax::{active_rates, parse_country, parse_tax_code},
    },
};

pub const NAME: &str = "tax";

static MANIFEST: Manifest = Manifest {
    name: NAME,
    version: "1.0.0",
    title: "Tax",
    description: "Adds tax lines to checkout sessions from your tax rates (per country, region and product tax code; inclusive or exclusive).",
    patterns: &[],
    default_enabled: false,
    platform_events: false,
    fields: &[
        Field {
            key: "checkout_tax",
            label: "Tax at checkout",
            kind: FieldKind::Bool,
            required: false,
            secret: false,
            help: "Add the applicable rate's tax to new checkout sessions (exclusive rates as a tax line, inclusive ones recorded in the session's metadata).",
            default: Some("true"),
        },
        Field {
            key: "default_country",
            label: "Default country",
            kind: FieldKind::Text,
            required: false,
            secret: false,
            help: "Two-letter country used when a checkout names no tax_country (e.g. your own country). Empty: no tax without a country.",
            default: None,
        },
        Field {
            key: "default_tax_code",
            label: "Default product tax code",
            kind: FieldKind::Text,
            required: false,
            secret: false,
            help: "Used when a checkout names no tax_code.",
            default: None,
        },
    ],
};

pub fn manifest() -> &'static Manifest {
    &MANIFEST
}

pub fn checkout_enabled(config: &PluginConfig) -> bool {
    config.values().get("checkout_tax").and_then(|v| v.as_bool()).unwrap_or(true)
}

/// The configured default country, when it is a valid code.
pub fn default_country(config: &PluginConfig) -> Option<String> {
    config.str("default_country").and_then(|c| parse_country(c, "default_country").ok())
}

pub fn default_tax_code(config: &PluginConfig) -> Option<String> {
    config.str("default_tax_code").and_then(|c| parse_tax_code(Some(c), "default_tax_code").ok().flatten())
}

pub struct Tax;

#[async_trait]
impl Plugin for Tax {
    fn manifest(&self) -> &'static Manifest {
        &MANIFEST
    }

    async fn health(&self, ctx: &PluginCtx<'_>) -> Health {
        let Some(tenant) = ctx.tenant else { return Health::Healthy };
        if ctx.config.str("default_country").is_some() && default_country(ctx.config).is_none() {
            return Health::Unhealthy("default_country is not a two-letter country code".into());
        }
        match sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM tax_rates WHERE tenant_id = $1 AND active = 1")
            .bind(tenant.as_str())
            .fetch_one(&ctx.deps.db.pool)
            .await
        {
            Ok((0,)) => Health::Unconfigured("no active tax rates: add one on the Tax rates page".into()),
            Ok(_) => Health::Healthy,
            Err(e) => Health::Unhealthy(format!("the tax rates are unreadable: {e}")),
        }
    }

    async fn handle(&self, _ctx: &PluginCtx<'_>, _delivery: &Delivery) -> Result<(), ListenerError> {
        Ok(())
    }

    /// Computes tax on 100.00 in the default country's currency-agnostic sample (EUR minor units).
    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError> {
        let tenant = ctx.tenant.ok_or(AppError::Internal)?;
        let Some(country) = default_country(ctx.config) else {
            return Ok("Set a default country to try a sample calculation; rates apply per checkout's tax_country.".into());
        };
        let rates = active_rates(&ctx.deps.db, tenant, &country).await?;
        let currency = Currency::parse("eur")?;
        let code = default_tax_code(ctx.config);
        match calc::select_rate(&rates, &country, None, code.as_deref()) {
            Some(rate) => {
                let r = calc::calculate(10_000, &currency, Some(rate));
                Ok(format!(
                    "A 100.00 sale in {country} uses {} ({}%{}): tax {}, total {}.",
                    rate.name,
                    rate.percentage,
                    if rate.inclusive { ", inclusive" } else { "" },
                    currency.format(r.tax),
                    currency.format(r.total)
                ))
            }
            None => Ok(format!("No active rate applies in {country}: checkouts there get no tax.")),
        }
    }
}
