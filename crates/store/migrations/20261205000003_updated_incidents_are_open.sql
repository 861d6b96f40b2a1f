-- An incident is open or cleared (vigie_model::EventKind::incident_status): one updated but not
-- cleared is still open, and the history's `status=open` must list it. Earlier collectors stored
-- the latest event's status, `update`, instead.
UPDATE incidents SET status = 'open' WHERE status = 'update';
