-- Gateways before 2026-12-05 published every clearing as minor, and an incident takes its
-- latest event's severity: cleared accidents and jams all read minor in the history. A clearing
-- now keeps the incident's severity; this gives the ones cleared before it the severity of their
-- latest event before the clearing.
UPDATE incidents i
   SET i.severity = (
       SELECT u.severity FROM incident_updates u
        WHERE u.incident_id = i.id AND u.status <> 'cleared'
        ORDER BY u.occurred_at DESC, u.event_id DESC
        LIMIT 1)
 WHERE i.kind IN ('accident', 'jam') AND i.status = 'cleared' AND i.severity = 'minor'
   AND EXISTS (SELECT 1 FROM incident_updates u
                WHERE u.incident_id = i.id AND u.status <> 'cleared');
