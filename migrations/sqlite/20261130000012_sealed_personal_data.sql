-- ICNs and names are kept sealed (AES-256-GCM, the key's id with each
-- value). The `icn` columns hold the ICN's blind index (HMAC-SHA256) that
-- look-ups and the one-open-request index use; the sealed ICN is kept
-- beside it. Rows written before this are sealed when the service starts.
ALTER TABLE itf_requests ADD COLUMN icn_sealed TEXT;
ALTER TABLE sessions ADD COLUMN icn_sealed TEXT;
