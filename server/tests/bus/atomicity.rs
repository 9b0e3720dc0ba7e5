//! A state change and its event commit together or not at all.

use crate::{on_both, support::*};

on_both! {
    async fn a_rolled_back_transaction_leaves_neither_the_change_nor_its_event(backend) {
        let Some(t) = TestBus::new(backend, vec![Scripted::new("audit", &["*"], Script::Succeed)], &[]).await else { return };
        let mut tx = t.db.begin().await.unwrap();
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ('ten_rolledback', 'Doomed', 1)").execute(&mut *tx).await.unwrap();
        t.bus.publish(&mut tx, &context(Some("ten_rolledback"), None), key_created(1)).await.unwrap();
        // The transaction fails after the publish: a second row with the same primary key.
        let failed = sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ('ten_rolledback', 'Again', 1)").execute(&mut *tx).await;
        assert!(failed.is_err());
        drop(tx);

        assert_eq!(t.count("SELECT COUNT(*) FROM tenants WHERE id = 'ten_rolledback'").await, 0);
        assert_eq!(t.count("SELECT COUNT(*) FROM events").await, 0);
        assert_eq!(t.count("SELECT COUNT(*) FROM event_deliveries").await, 0);
        assert_eq!(t.bus.dispatcher().run_due().await.unwrap().claimed, 0);
    }
}

on_both! {
    async fn a_committed_transaction_has_both_and_one_delivery_per_subscribed_listener(backend) {
        let listeners: Vec<std::sync::Arc<dyn app::ssr::bus::Listener>> = vec![
            Scripted::new("audit", &["*"], Script::Succeed),
            Scripted::new("keys", &["api_key.*"], Script::Succeed),
            Scripted::new("payments", &["payment.*"], Script::Succeed),
        ];
        let Some(t) = TestBus::new(backend, listeners, &[]).await else { return };
        let mut tx = t.db.begin().await.unwrap();
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ('ten_kept', 'Kept', 1)").execute(&mut *tx).await.unwrap();
        let id = t.bus.publish(&mut tx, &context(Some("ten_kept"), None), key_created(1)).await.unwrap();
        t.bus.commit(tx).await.unwrap();

        assert_eq!(t.count("SELECT COUNT(*) FROM tenants WHERE id = 'ten_kept'").await, 1);
        assert_eq!(t.count(&format!("SELECT COUNT(*) FROM events WHERE id = '{id}' AND tenant_id = 'ten_kept'")).await, 1);
        let listeners: Vec<String> = sqlx::query_scalar("SELECT listener FROM event_deliveries ORDER BY listener").fetch_all(&t.db.pool).await.unwrap();
        assert_eq!(listeners, vec!["audit", "keys"], "payment.* does not match api_key.created");
    }
}
