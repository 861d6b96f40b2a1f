-- A zone crossing is over as soon as it happens (vigie_model::EventKind::incident_status): its
-- incident is cleared at its own moment, so `status = 'open'` selects the accidents and jams in
-- progress. Earlier collectors stored zone crossings as open.
UPDATE incidents
   SET status = 'cleared', cleared_at = opened_at
 WHERE kind IN ('zone_enter', 'zone_exit') AND status <> 'cleared';
