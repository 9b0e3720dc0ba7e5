//! Plugins per tenant: list, read, switch and configure, test.

use app::{
    domain::{
        dto::List,
        plugins::{PluginOut, PluginTestOut, PluginUpdate},
    },
    ssr::{services::plugins, AppState},
    AppError,
};
use axum::{
    extract::State,
    routing::{get, post},
    Router,
};

use super::extractors::{Json, Path, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_plugins, get_plugin, update_plugin, test_plugin))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plugins", get(list_plugins))
        .route("/plugins/{name}", get(get_plugin).put(update_plugin).patch(update_plugin))
        .route("/plugins/{name}/test", post(test_plugin))
}

/// Every plugin compiled into paybus, with this tenant's switch, settings (secrets masked),
/// health and delivery counts.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins", responses((status = 200, body = List<PluginOut>)))]
pub async fn list_plugins(State(state): State<AppState>, Tenant(access): Tenant) -> Result<axum::Json<List<PluginOut>>, AppError> {
    Ok(axum::Json(plugins::list(&state, &access).await?))
}

#[utoipa::path(get, path = "/api/v1/plugins/{name}", tag = "plugins", params(("name" = String, Path)), responses((status = 200, body = PluginOut), (status = 404)))]
pub async fn get_plugin(State(state): State<AppState>, Tenant(access): Tenant, Path(name): Path<String>) -> Result<axum::Json<PluginOut>, AppError> {
    Ok(axum::Json(plugins::get(&state, &access, &name).await?))
}

/// Enables, disables or configures a plugin for this tenant; takes effect for the next delivery,
/// without a restart. Settings are checked against the plugin's schema.
#[utoipa::path(put, path = "/api/v1/plugins/{name}", tag = "plugins", params(("name" = String, Path)), request_body = PluginUpdate,
    responses((status = 200, body = PluginOut), (status = 400), (status = 403), (status = 404)))]
pub async fn update_plugin(State(state): State<AppState>, Tenant(access): Tenant, Path(name): Path<String>, Json(update): Json<PluginUpdate>) -> Result<axum::Json<PluginOut>, AppError> {
    Ok(axum::Json(plugins::update(&state, &access, &name, update).await?))
}

/// Does the plugin's visible work once with a sample (a test email, a chat message).
#[utoipa::path(post, path = "/api/v1/plugins/{name}/test", tag = "plugins", params(("name" = String, Path)), responses((status = 200, body = PluginTestOut), (status = 404)))]
pub async fn test_plugin(State(state): State<AppState>, Tenant(access): Tenant, Path(name): Path<String>) -> Result<axum::Json<PluginTestOut>, AppError> {
    Ok(axum::Json(plugins::test(&state, &access, &name).await?))
}
