//! Request bodies larger than `PAYBUS_BODY_LIMIT_BYTES` are refused with the API's error object,
//! the same way on every route (JSON API, raw-bytes handlers, server functions):
//! - a declared `Content-Length` over the limit is refused before anything is read;
//! - a body of unknown length (chunked) is read here, up to the limit, and handed on as bytes.
//!   Server functions read their bodies without axum's `DefaultBodyLimit`, and extractors other
//!   than our `Json` answer a plain-text 413, so the limit cannot be left to them.
//!
//! Before refusing, the rest of the body is read and thrown away (a bounded amount, for a bounded
//! time): a server that closes a connection with unread data makes the kernel reset it, and the
//! client then sees "connection reset" instead of the 413.

use std::{future::poll_fn, pin::Pin, time::Duration};

use app::{ssr::AppState, AppError};
use axum::{
    body::{Body, HttpBody},
    extract::State,
    http::{
        header::{CACHE_CONTROL, CONTENT_LENGTH, EXPECT},
        HeaderValue, Request,
    },
    middleware::Next,
    response::{IntoResponse, Response},
};

/// At most this much of a refused body is read and discarded…
const DRAIN_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// …for at most this long.
const DRAIN_MAX_TIME: Duration = Duration::from_secs(3);

pub async fn reject_oversized(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let limit = state.config.body_limit_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // A client waiting for `100 Continue` has not sent its body: never ask for it just to drop it.
    let expects_continue = request.headers().contains_key(EXPECT);

    if let Some(len) = declared {
        if len > limit as u64 {
            if !expects_continue && len <= DRAIN_MAX_BYTES {
                drain(request.into_body()).await;
            }
            return too_large(limit);
        }
        return next.run(request).await;
    }
    if request.body().is_end_stream() {
        return next.run(request).await;
    }

    let (parts, mut body) = request.into_parts();
    let mut buffered = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return AppError::invalid("body_invalid", "The request body could not be read.", None).into_response();
        };
        if let Some(data) = frame.data_ref() {
            if buffered.len() + data.len() > limit {
                drain(body).await;
                return too_large(limit);
            }
            buffered.extend_from_slice(data);
        }
    }
    next.run(Request::from_parts(parts, Body::from(buffered))).await
}

fn too_large(limit_bytes: usize) -> Response {
    let mut response = AppError::PayloadTooLarge { limit_bytes }.into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn drain(mut body: Body) {
    let discard = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > DRAIN_MAX_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, discard).await;
}
