-- Catalog changes from 1.0 to 1.1: what src/sql/pre/ creates differently now, and
-- functions or views whose signature changed (dropped here, recreated by the
-- replaceable files that make appends to this one). See src/sql/README.md.

-- soft delete: audit => false (issue 12)
ALTER TABLE nova.soft_delete_tables ADD COLUMN audit boolean NOT NULL DEFAULT true;
DROP FUNCTION nova.enable_soft_delete(regclass, name);
