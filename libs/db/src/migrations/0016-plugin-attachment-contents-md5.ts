/**
 * The md5 of each attachment's contents, kept beside them: the workers' config signature named
 * every attachment by the md5 of its contents, which Postgres computed over the full bytes at every
 * reconcile and reload in every process (100 GeoIP databases of 10 MB took the read from 334 to
 * 1 790 ms). A trigger keeps it, so every write sets it, those of a version from before this
 * migration (still running during a rolling upgrade) and plain SQL included; readers fall back to
 * md5(contents) while it is NULL. The same md5 as before, so no plugin reloads when this is applied.
 * Existing rows are filled by 0017, in its own transaction: this one holds the table's exclusive
 * lock (ADD COLUMN) until it commits, which must not last as long as reading every attachment.
 */
export const sql = /* sql */ `
ALTER TABLE plugin_attachments ADD COLUMN contents_md5 text;

CREATE FUNCTION plugin_attachments_contents_md5() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.contents_md5 := md5(NEW.contents);
  RETURN NEW;
END $$;

CREATE TRIGGER plugin_attachments_contents_md5 BEFORE INSERT OR UPDATE OF contents ON plugin_attachments
  FOR EACH ROW EXECUTE FUNCTION plugin_attachments_contents_md5();
`
