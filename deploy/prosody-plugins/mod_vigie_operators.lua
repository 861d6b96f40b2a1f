-- Vigie: the operators' rooms are for accounts of the main host. Anonymous viewers read the
-- event rooms; they may neither join an operators' room nor read its archive.
-- Options (MUC component): vigie_operator_rooms (room JIDs), vigie_operator_host (a host).
local st = require "util.stanza";
local jid = require "util.jid";

local operator_rooms = module:get_option_set("vigie_operator_rooms", {});
local operator_host = module:get_option_string("vigie_operator_host");

local function outsider(from)
	return jid.host(from) ~= operator_host;
end

-- Before members_only.lib's check (priority -5), as it does: the refusal is sent here.
module:hook("muc-occupant-pre-join", function(event)
	local room, stanza = event.room, event.stanza;
	if operator_rooms:contains(room.jid) and outsider(stanza.attr.from) then
		event.origin.send(st.error_reply(stanza, "auth", "registration-required",
			"Operators only: log in with an account", room.jid):up());
		return true;
	end
end, 10);

-- mod_muc_mam answers anyone about a public room: outsiders are refused before it hears them.
module:hook("iq-set/bare/urn:xmpp:mam:2:query", function(event)
	local stanza = event.stanza;
	if operator_rooms:contains(jid.bare(stanza.attr.to)) and outsider(stanza.attr.from) then
		event.origin.send(st.error_reply(stanza, "auth", "forbidden", "Operators only"));
		return true;
	end
end, 10);
