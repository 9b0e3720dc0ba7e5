//! The test bench: a fresh database per test (a SQLite file or a Postgres database), real
//! `paybus serve` child processes on it, and the HTTP steps that give a logged-in user.
//!
//! Deliberately self-contained (it does not reuse `../api/helpers.rs`, which builds the server
//! in-process): the only contact with the server is its binary, its environment, HTTP and the
//! database it writes.

use std::{
    fs::{File, OpenOptions},
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::{any::AnyPoolOptions, AnyPool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A bus tuned so a crash is recovered within seconds: a delivery claimed by a process that dies
/// can be taken over 1.5 s later (the lease must outlast the listener timeout).
pub const SHORT_LEASE: &[(&str, &str)] =
    &[("PAYBUS_BUS_PROBE", "true"), ("PAYBUS_BUS_LEASE_MS", "1500"), ("PAYBUS_BUS_LISTENER_TIMEOUT_MS", "1000"), ("PAYBUS_BUS_POLL_MS", "200")];

/// A bus whose leases never expire during a test: any second attempt would mean two processes
/// claimed the same delivery, not that a slow one was taken over.
pub const LONG_LEASE: &[(&str, &str)] =
    &[("PAYBUS_BUS_PROBE", "true"), ("PAYBUS_BUS_LEASE_MS", "60000"), ("PAYBUS_BUS_LISTENER_TIMEOUT_MS", "30000"), ("PAYBUS_BUS_POLL_MS", "200")];

/// The admin connection used to create and drop per-test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("PAYBUS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// These tests measure recovery times and load a 2-core machine with several server processes:
/// they take turns rather than compete (the guard is held for the whole test).
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// One test's database and working directory (SQLite file, data directory, server logs). The
/// servers started on it share its secrets, so a token issued by one is accepted by the others
/// and by a restarted one.
pub struct Database {
    pub url: String,
    pub dir: PathBuf,
    pg_name: Option<String>,
    jwt_secret: String,
    master_key: String,
}

impl Database {
    /// `None` only when Postgres is unreachable outside CI (the skip is announced loudly); in CI
    /// (`CI=true`) an unreachable Postgres fails the test.
    pub async fn fresh(backend: Backend) -> Option<Database> {
        sqlx::any::install_default_drivers();
        let dir = std::env::temp_dir().join(format!("paybus-proc-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (url, pg_name) = match backend {
            Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.join("paybus.db").display()), None),
            Backend::Postgres => {
                let name = format!("paybus_proc_{}", uuid::Uuid::new_v4().simple());
                if let Err(e) = admin_execute(&format!("CREATE DATABASE {name}")).await {
                    let _ = std::fs::remove_dir_all(&dir);
                    if in_ci() {
                        panic!("Postgres is required in CI but unreachable at {}: {e}", postgres_admin_url());
                    }
                    eprintln!("\n!!!!! SKIPPING a Postgres process test: cannot reach {} ({e}). Set PAYBUS_TEST_POSTGRES_URL. !!!!!\n", postgres_admin_url());
                    return None;
                }
                let admin = postgres_admin_url();
                let root = admin.rsplit_once('/').map(|(r, _)| r).unwrap_or(&admin).to_owned();
                (format!("{root}/{name}"), Some(name))
            }
        };
        Some(Database {
            url,
            dir,
            pg_name,
            jwt_secret: format!("jwt-{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()),
            master_key: format!("mk-{}", uuid::Uuid::new_v4().simple()),
        })
    }

    /// A direct connection, to check what is stored at rest.
    pub async fn pool(&self) -> AnyPool {
        AnyPoolOptions::new().max_connections(2).acquire_timeout(Duration::from_secs(10)).connect(&self.url).await.expect("the test database answers")
    }

    /// Deliveries not yet finished (`pending` or `running`): the bus backlog.
    pub async fn backlog(&self, pool: &AnyPool) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM event_deliveries WHERE status IN ('pending', 'running')").fetch_one(pool).await.expect("backlog query")
    }

    /// Polls until the backlog is empty; returns how long that took. Fails after `timeout`, or as
    /// soon as one of `servers` has exited, with the delivery states and the server logs.
    pub async fn wait_for_empty_backlog(&self, servers: &[&Server], timeout: Duration) -> Duration {
        let pool = self.pool().await;
        let started = Instant::now();
        loop {
            let backlog = self.backlog(&pool).await;
            if backlog == 0 {
                pool.close().await;
                return started.elapsed();
            }
            for server in servers {
                server.assert_running();
            }
            if started.elapsed() > timeout {
                let states: Vec<(String, String, i64)> =
                    sqlx::query_as("SELECT listener, status, COUNT(*) FROM event_deliveries GROUP BY listener, status ORDER BY listener, status")
                        .fetch_all(&pool)
                        .await
                        .unwrap_or_default();
                let logs: Vec<String> = servers.iter().map(|s| s.log_tail(30)).collect();
                panic!("the backlog is still {backlog} after {timeout:?}; deliveries by (listener, status, count): {states:?}\n{}", logs.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Deliveries currently claimed (`running`), by `worker` or by anyone.
    pub async fn leases(&self, pool: &AnyPool, worker: Option<&str>) -> Vec<Lease> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, leased_by, CAST(lease_until AS BIGINT), CAST(attempts AS BIGINT) FROM event_deliveries
             WHERE status = 'running' AND leased_by IS NOT NULL AND lease_until IS NOT NULL",
        )
        .fetch_all(pool)
        .await
        .expect("leases query");
        rows.into_iter()
            .filter(|(_, by, _, _)| worker.is_none_or(|w| w == by))
            .map(|(delivery_id, worker, lease_until, attempts)| Lease { delivery_id, worker, lease_until, attempts })
            .collect()
    }

    /// The only worker that has delivered anything so far (call it while one server runs).
    pub async fn only_worker(&self) -> String {
        let pool = self.pool().await;
        let workers: Vec<String> = sqlx::query_scalar("SELECT DISTINCT worker FROM delivery_attempts").fetch_all(&pool).await.expect("workers query");
        pool.close().await;
        assert_eq!(workers.len(), 1, "expected exactly one worker so far: {workers:?}");
        workers.into_iter().next().unwrap()
    }

    /// The environment every server on this database gets.
    fn server_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.url.clone()),
            ("PAYBUS_DATA_DIR", self.dir.join("data").display().to_string()),
            ("PAYBUS_ADDR", "127.0.0.1:0".into()),
            ("PAYBUS_JWT_SECRET", self.jwt_secret.clone()),
            ("PAYBUS_MASTER_KEY", self.master_key.clone()),
            ("PAYBUS_ARGON2_MEMORY_KIB", "1024".into()),
            ("PAYBUS_ARGON2_ITERATIONS", "1".into()),
        ]
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop is synchronous: clean up on a thread with its own runtime. FORCE also ends the
            // connections of servers that are still being torn down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    let _ = admin_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                })
            })
            .join();
        }
        if std::thread::panicking() {
            eprintln!("(test failed: server logs kept in {})", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

async fn admin_execute(sql: &str) -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(3)).connect(&postgres_admin_url()).await?;
    let result = sqlx::query(sql).execute(&pool).await.map(|_| ());
    pool.close().await;
    result
}

/// A delivery claimed by a worker: it is that worker's until `lease_until` (ms since the epoch).
#[derive(Debug, Clone)]
pub struct Lease {
    pub delivery_id: String,
    pub worker: String,
    pub lease_until: i64,
    /// The attempt the claim started (`attempts` after the claim).
    pub attempts: i64,
}

/// Pins the moment of a crash to one where `server` is in the middle of deliveries: waits until
/// it (`worker`, or anyone when `None`) holds a lease, freezes the process (SIGSTOP) so the lease
/// cannot be finished, and returns the leases it holds. The caller then kills it (SIGKILL).
/// A process frozen just after it finished is thawed and caught again.
pub async fn freeze_while_holding_leases(server: &Server, db: &Database, worker: Option<&str>, timeout: Duration) -> Vec<Lease> {
    let pool = db.pool().await;
    let started = Instant::now();
    loop {
        if !db.leases(&pool, worker).await.is_empty() {
            server.signal("STOP");
            // A COMMIT the server sent just before it stopped still lands: let it, so what we
            // read next is what the frozen process really holds.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let held = db.leases(&pool, worker).await;
            if !held.is_empty() {
                pool.close().await;
                return held;
            }
            server.signal("CONT");
        }
        server.assert_running();
        assert!(started.elapsed() < timeout, "{} was never caught holding a lease within {timeout:?}", server.name);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A `paybus serve` child process. Killed (SIGKILL) and reaped when dropped.
pub struct Server {
    pub name: String,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub log: PathBuf,
    child: Mutex<Child>,
}

impl Server {
    /// Starts `paybus serve` on `db` with `env` on top of the common settings, and returns once
    /// it answers `GET /health`. The port is the one the server reports it bound (it is given
    /// port 0), so there is no race for a free port.
    pub async fn start(db: &Database, name: &str, env: &[(&str, &str)]) -> Server {
        let log = db.dir.join(format!("{name}.log"));
        let out = OpenOptions::new().create(true).append(true).open(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let offset = out.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = Command::new(env!("CARGO_BIN_EXE_paybus"));
        // A clean environment, run from the test's directory: no inherited DATABASE_URL and no
        // `paybus.toml` from wherever the tests run.
        command.arg("serve").current_dir(&db.dir).env_clear().stdin(Stdio::null()).stdout(out).stderr(err);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (k, v) in db.server_env() {
            command.env(k, v);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("the paybus binary starts");
        let mut server = Server { name: name.to_owned(), base: String::new(), log, child: Mutex::new(child) };
        server.base = server.wait_for_listening_line(offset, Duration::from_secs(60)).await;
        server.wait_until_live(Duration::from_secs(30)).await;
        server
    }

    /// `paybus listening on http://127.0.0.1:PORT (…)` from the log, written after the bind.
    async fn wait_for_listening_line(&self, offset: u64, timeout: Duration) -> String {
        const MARK: &str = "paybus listening on ";
        let started = Instant::now();
        loop {
            let text = read_from(&self.log, offset);
            if let Some(line) = text.lines().find(|l| l.contains(MARK)) {
                let rest = &line[line.find(MARK).unwrap() + MARK.len()..];
                return rest.split_whitespace().next().expect("an address").to_owned();
            }
            self.assert_running();
            assert!(started.elapsed() < timeout, "{} did not report its address within {timeout:?}\n{}", self.name, self.log_tail(40));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_until_live(&self, timeout: Duration) {
        let client = Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        let started = Instant::now();
        loop {
            if let Ok(res) = client.get(self.url("/health")).send().await {
                if res.status() == StatusCode::OK {
                    return;
                }
            }
            self.assert_running();
            assert!(started.elapsed() < timeout, "{} did not answer /health within {timeout:?}\n{}", self.name, self.log_tail(40));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `kill -9`: no shutdown hook, no drain, no lease handed back.
    pub fn kill_hard(&self) {
        let mut child = self.child.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends a signal by name (`STOP`, `CONT`) with the system's `kill`.
    fn signal(&self, name: &str) {
        let pid = self.child.lock().unwrap().id();
        let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("kill runs");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    pub fn assert_running(&self) {
        let mut child = self.child.lock().unwrap();
        if let Ok(Some(status)) = child.try_wait() {
            drop(child);
            panic!("server {} exited unexpectedly ({status})\n{}", self.name, self.log_tail(60));
        }
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = read_from(&self.log, 0);
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!("----- last {lines} lines of {} ({}) -----\n{tail}", self.name, self.log.display())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        let start = (offset as usize).min(bytes.len());
        text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    }
    text
}

/// An HTTP client without cookies (bearer tokens only, so no CSRF check applies).
pub fn http() -> Client {
    Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

/// Signs a user up, verifies the address with the code from the development mailbox and logs
/// in; returns the access token (valid on every server of the same database).
pub async fn verified_user_token(server: &Server) -> String {
    let client = http();
    let email = unique_email("proc");
    let post = |path: &str, body: Value| client.post(server.url(path)).json(&body).send();

    let res = post("/api/v1/signup", json!({ "email": email, "password": PASSWORD })).await.expect("signup answers");
    assert_eq!(res.status(), StatusCode::CREATED, "signup: {}", res.text().await.unwrap_or_default());

    let mail: Value = client.get(server.url("/api/v1/dev/mailbox?limit=100")).send().await.expect("mailbox answers").json().await.expect("mailbox JSON");
    let subject = mail["data"]
        .as_array()
        .expect("a list of messages")
        .iter()
        .find(|m| m["to"] == email.as_str() && m["subject"].as_str().is_some_and(|s| s.contains("verification code")))
        .unwrap_or_else(|| panic!("no verification mail for {email}: {mail}"))["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = subject.rsplit(' ').next().unwrap();

    let res = post("/api/v1/verify-email-code", json!({ "email": email, "code": code })).await.expect("verify answers");
    assert_eq!(res.status(), StatusCode::OK, "verify: {}", res.text().await.unwrap_or_default());

    let res = post("/api/v1/login", json!({ "email": email, "password": PASSWORD })).await.expect("login answers");
    assert_eq!(res.status(), StatusCode::OK, "login");
    let tokens: Value = res.json().await.expect("token JSON");
    tokens["access_token"].as_str().expect("an access token").to_owned()
}

/// `GET /api/v1/health`'s view of the bus backlog.
pub async fn reported_backlog(server: &Server) -> u64 {
    let health: Value = http().get(server.url("/api/v1/health")).send().await.expect("readiness answers").json().await.expect("health JSON");
    health["bus"]["backlog"].as_u64().unwrap_or_else(|| panic!("no bus.backlog in {health}"))
}
