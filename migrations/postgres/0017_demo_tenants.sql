-- Demo data is marked: tenants created by `paybus demo seed` / `serve --demo` carry is_demo = 1,
-- the dashboard shows a "Demo data" badge for them, and re-seeding only ever touches them.
ALTER TABLE tenants ADD COLUMN is_demo BIGINT NOT NULL DEFAULT 0;
-- A demo seeded before this migration: the demo login's two tenants.
UPDATE tenants SET is_demo = 1
WHERE name IN ('Demo Store', 'Demo Marketplace')
  AND id IN (SELECT m.tenant_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'demo@paybus.dev');
