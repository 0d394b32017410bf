-- Whether the provider had said no ITF was active when the request was
-- recorded: the veteran is then told one is being created; otherwise, that
-- we are making sure they have one.
ALTER TABLE itf_requests ADD COLUMN provider_said_none BOOLEAN NOT NULL DEFAULT FALSE;
