//! Black-box edge cases: bad input, CSRF, a database that goes away, the Mailgun transport
//! against an HTTP double, the OpenAPI document, request ids and caching headers.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

/// Like `both_backends!`, with configuration variables for the server under test.
macro_rules! both_backends_with {
    (env = $env:expr; async fn $name:ident($app:ident: TestApp) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::helpers::*;

            async fn run($app: TestApp) $body

            fn env() -> Vec<(&'static str, String)> {
                $env
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(TestApp::spawn_with(Spawn { backend: Backend::Sqlite, env: env() }).await.unwrap()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::spawn_with(Spawn { backend: Backend::Postgres, env: env() }).await {
                    run(app).await
                }
            }
        }
    };
}

mod support;

mod bad_input;
mod body_limit;
mod csrf;
mod database_down;
mod mailgun;
mod openapi;
mod request_ids;
