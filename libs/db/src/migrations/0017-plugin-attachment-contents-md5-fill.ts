/**
 * Fills `contents_md5` (0016) for the attachments written before it. Not a rewrite of their
 * contents (an UPDATE that leaves a TOASTed column alone keeps it where it is): it reads each
 * attachment once. Readers are not blocked; an upload to an attachment waits until this commits
 * (row locks), seconds for a gigabyte of attachments.
 */
export const sql = /* sql */ `
UPDATE plugin_attachments SET contents_md5 = md5(contents) WHERE contents_md5 IS NULL;
`
