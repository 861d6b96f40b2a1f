-- Vigie's private Prosody 0.12. A template: crates/stack (vigie-stack) fills in every
-- double-braced placeholder and writes the result into the state folder; nothing here touches /etc.
-- String placeholders become quoted, escaped Lua strings; numbers are bare.

-- The stack runs everything as the invoking user (root in CI and on the dev machine), with
-- every file inside the state folder, so no chown dance is needed.
run_as_root = true
pidfile = {{pid_file}}
data_path = {{data_dir}}
admin_socket = {{admin_socket}}
-- Vigie's own modules (deploy/prosody-plugins/).
plugin_paths = { {{plugin_dir}} }
certificates = {{certs_dir}}
log = {
	{ levels = { min = "info" }, to = "file", filename = {{log_file}} };
}

-- Loopback only, plain text: TLS is the job of whatever proxies the stack in production.
interfaces = { "127.0.0.1" }
c2s_ports = { {{c2s_port}} }
http_ports = { {{http_port}} }
http_interfaces = { "127.0.0.1" }
https_ports = { }
https_interfaces = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true
consider_bosh_secure = true

-- Lua's own collector pace (pause 200 %) rather than Prosody's default (105 %: a full mark of
-- the heap every time it grows by 5 %). Reading the archives costs about a third less CPU
-- (docs/benchmarks/pipeline.md, collector catch-up: 240 -> 153 µs an event), for up to twice
-- the heap.
gc = { mode = "incremental"; threshold = 200; speed = 100 }

-- TCP_NODELAY on every connection. With Nagle's algorithm (Prosody's default) a small write
-- waits for the peer's delayed ACK (40 ms on Linux) whenever the previous one is unacknowledged:
-- the stream features after `<open/>`, each request and answer of a login, a room's join after
-- the previous one. docs/benchmarks/dashboard.md, session 5.
network_settings = { nagle = false }

modules_enabled = {
	"roster"; "saslauth"; "disco"; "ping"; "version"; "vcard";
	"carbons"; "mam"; "smacks";
	"websocket"; "bosh";
	"register";
	"admin_shell";
}
-- No federation: a private server has no business listening for other servers.
modules_disabled = { "s2s" }

-- Dashboard users sign up from the browser.
allow_registration = true

authentication = "internal_hashed"
storage = "sql"
sql = {
	driver = "MySQL";
	database = {{sql_database}};
	username = {{sql_username}};
	password = {{sql_password}};
	host = {{sql_host}};
	port = {{sql_port}};
}

VirtualHost {{xmpp_domain}}

-- Read-only viewers of the dashboard.
VirtualHost {{anon_domain}}
	authentication = "anonymous"

Component {{muc_service}} "muc"
	modules_enabled = { "muc_mam"; "vigie_operators" }
	-- The operators' chat is for accounts: anonymous viewers can neither join nor read it.
	vigie_operator_rooms = { {{ops_room}} }
	vigie_operator_host = {{xmpp_domain}}
	muc_log_all_rooms = true
	-- The collector catches up in pages of 1000 (Prosody caps pages at 50 by default).
	max_archive_query_results = 1000
	-- No COUNT(*) of the room's archive with every page: no client here reads the total.
	muc_log_include_total = false
	-- Only accounts of the main domain may create rooms; anonymous viewers never can.
	restrict_room_creation = "local"
