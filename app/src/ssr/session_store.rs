//! tower-sessions storage in paybus's own database (SQLite or Postgres, whichever is configured),
//! so sessions survive restarts and are shared by replicas.

use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};

use super::{db, db::Db, time_util};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn encode(record: &Record) -> Result<(String, i64), session_store::Error> {
    let data = serde_json::to_string(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok((data, time_util::to_ms(record.expiry_date)))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let (data, expiry) = encode(record)?;
            if db::sessions::insert_new(&self.db.pool, &record.id.to_string(), &data, expiry).await.map_err(backend)? {
                return Ok(());
            }
            record.id = Id::default(); // a 128-bit collision: astronomically rare, but never overwrite
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, expiry) = encode(record)?;
        db::sessions::upsert(&self.db.pool, &record.id.to_string(), &data, expiry).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data = db::sessions::load(&self.db.pool, &id.to_string(), time_util::now_ms()).await.map_err(backend)?;
        data.map(|d| serde_json::from_str(&d).map_err(|e| session_store::Error::Decode(e.to_string()))).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        db::sessions::delete(&self.db.pool, &id.to_string()).await.map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        db::sessions::delete_expired(&self.db.pool, time_util::now_ms()).await.map_err(backend)?;
        Ok(())
    }
}
