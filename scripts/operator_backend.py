#!/usr/bin/env python3
"""A local MSSanté operator: Dovecot (IMAP, LMTP, SASL) and Postfix (MX + submission).

Development and test tool. Everything lives in one state folder on loopback ports derived
from a port base, so a demo instance and a test instance can run side by side:

    base+143 IMAP      base+24 LMTP      base+12 Dovecot auth (Postfix SASL)
    base+25  MX (inbound from other operators, no auth)
    base+587 submission (SASL required, DSN, trust-space check on recipients)

Usage: operator_backend.py {start,stop,status,env} [--name demo] [--port-base 31000] [--fresh]
       operator_backend.py add-user ADDRESS... [--name demo]   (a mailbox more, kept)

Standard library only: it runs before the project's virtualenv exists. Needs root (Postfix's
master and Dovecot drop privileges to their own users) and the Debian packages
dovecot-imapd, dovecot-lmtpd and postfix.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IDENTITIES = REPO / "webmail" / "demo" / "identities.json"
MASTER_USER = "webmail"
POSTFIX_ETC = Path("/etc/postfix/main.cf")


@dataclass(frozen=True)
class Instance:
    name: str
    root: Path
    port_base: int

    @property
    def imap_port(self) -> int:
        return self.port_base + 143

    @property
    def lmtp_port(self) -> int:
        return self.port_base + 24

    @property
    def auth_port(self) -> int:
        return self.port_base + 12

    @property
    def mx_port(self) -> int:
        return self.port_base + 25

    @property
    def submission_port(self) -> int:
        return self.port_base + 587

    @property
    def dovecot_conf(self) -> Path:
        return self.root / "dovecot" / "dovecot.conf"

    @property
    def postfix_conf(self) -> Path:
        return self.root / "postfix" / "conf"

    @property
    def master_secret(self) -> Path:
        return self.root / "master.secret"


def load_identities() -> dict:
    return json.loads(IDENTITIES.read_text(encoding="utf-8"))


def mailbox_addresses(identities: dict) -> list[str]:
    personal = [p["mailbox"] for p in identities["professionals"]]
    organisational = [m["address"] for m in identities["organisational_mailboxes"]]
    return personal + organisational


def write(path: Path, text: str, mode: int = 0o644) -> None:
    """Written aside then renamed: a running Dovecot re-reading its users file never sees
    it half-written (add-user rewrites it under a live server)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.new")
    aside.write_text(text, encoding="utf-8")
    aside.chmod(mode)
    if path.exists():
        stat = path.stat()
        os.chown(aside, stat.st_uid, stat.st_gid)  # the group Dovecot reads it as
    os.replace(aside, path)


def read_or_create_secret(path: Path) -> str:
    if not path.exists():
        write(path, secrets.token_urlsafe(24), mode=0o600)
    return path.read_text(encoding="utf-8").strip()


# --- Dovecot -------------------------------------------------------------------------------


STORAGES = {"maildir": "maildir:~/Maildir", "sdbox": "sdbox:~/sdbox", "mdbox": "mdbox:~/mdbox"}


def mail_location() -> str:
    """Maildir by default (files one can read); OPERATOR_MAIL_STORAGE=sdbox or mdbox for the
    formats large operators run, whose indexes do not grow with a directory listing."""
    return STORAGES[os.environ.get("OPERATOR_MAIL_STORAGE", "maildir")]


def dovecot_config(inst: Instance) -> str:
    r = inst.root
    domain = load_identities()["domains"][0]
    oauth2 = (r / "dovecot" / "oauth2.conf.ext").exists()
    oauth2_passdb = (
        f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {r}/dovecot/oauth2.conf.ext
}}
"""
        if oauth2
        else ""
    )
    # One setting per line inside blocks: Dovecot 2.3's parser wants it so.
    return f"""\
instance_name = mssante-{inst.name}
base_dir = {r}/run/dovecot
state_dir = {r}/state/dovecot
log_path = {r}/log/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
# The webmail is the operator's trusted client: no per-IP auth penalty for it.
login_trusted_networks = 127.0.0.0/8
auth_mechanisms = plain login{" xoauth2 oauthbearer" if oauth2 else ""}
auth_master_user_separator = *
default_internal_user = dovecot
default_login_user = dovenull
mail_location = {mail_location()}
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
first_valid_gid = 1
recipient_delimiter = +
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}
protocol imap {{
  # A webmail opens many sessions from one address; the default of 10 is too low.
  mail_max_userip_connections = 100
}}
protocol lmtp {{
  postmaster_address = postmaster@{domain}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {inst.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {inst.lmtp_port}
  }}
}}
service auth {{
  inet_listener postfix {{
    address = 127.0.0.1
    port = {inst.auth_port}
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {r}/dovecot/masters
  master = yes
  # The target mailbox must exist too.
  result_success = continue
}}
{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/dovecot/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {r}/dovecot/users
  default_fields = home={r}/mail/%d/%n
}}
"""


def write_oauth2(inst: Instance, introspection_url: str) -> bool:
    """XOAUTH2/OAUTHBEARER: tokens checked by introspection at the identity provider; the
    token's `email` claim must be the mailbox logged into (the operator decides access).
    Returns whether the configuration changed."""
    path = inst.root / "dovecot" / "oauth2.conf.ext"
    text = f"""introspection_mode = post
introspection_url = {introspection_url}
username_attribute = email
active_attribute = active
active_value = true
force_introspection = yes
"""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write(path, text, mode=0o640)
    shutil.chown(path, group="dovecot")
    return True


def write_dovecot(inst: Instance) -> None:
    identities = load_identities()
    users = inst.root / "dovecot" / "users"
    known = {}
    if users.exists():  # keep passwords stable across restarts
        for line in users.read_text(encoding="utf-8").splitlines():
            address, _, rest = line.partition(":")
            known[address] = rest
    lines = []
    for address in mailbox_addresses(identities) + added_addresses(inst):
        rest = known.get(address) or f"{{PLAIN}}{secrets.token_urlsafe(12)}::::::"
        lines.append(f"{address}:{rest}")
    write(users, "\n".join(lines) + "\n", mode=0o640)
    master_password = read_or_create_secret(inst.master_secret)
    write(
        inst.root / "dovecot" / "masters",
        f"{MASTER_USER}:{{PLAIN}}{master_password}::::::\n",
        0o640,
    )
    write(inst.dovecot_conf, dovecot_config(inst))
    for sub in ("run/dovecot", "state/dovecot", "log", "mail"):
        (inst.root / sub).mkdir(parents=True, exist_ok=True)
    shutil.chown(inst.root / "dovecot" / "users", group="dovecot")
    shutil.chown(inst.root / "dovecot" / "masters", group="dovecot")
    shutil.chown(inst.root / "mail", user="dovecot", group="dovecot")


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().split()[0]), 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def dovecot_running(inst: Instance) -> bool:
    return _alive(inst.root / "run" / "dovecot" / "master.pid")


def postfix_running(inst: Instance) -> bool:
    return _alive(inst.root / "postfix" / "queue" / "pid" / "master.pid")


class PortTaken(SystemExit):
    pass


def refuse_taken(inst: Instance, component: str, ports: tuple[int, ...]) -> None:
    """Loudly refuse ports another process holds: starting nothing there, silently, made the
    seeding fail later with a misleading error (issue 16)."""
    taken = [port for port in ports if port_open(port)]
    if taken:
        raise PortTaken(
            f"operator_backend: cannot start {component} for '{inst.name}': port(s) "
            f"{', '.join(map(str, taken))} on 127.0.0.1 already in use by a process this script "
            "did not start; stop it or choose another --port-base"
        )


def start_dovecot(inst: Instance) -> None:
    if dovecot_running(inst) and port_open(inst.imap_port):
        return
    refuse_taken(inst, "dovecot", (inst.imap_port, inst.lmtp_port, inst.auth_port))
    write_dovecot(inst)
    run_daemon(inst, ["dovecot", "-c", str(inst.dovecot_conf)], "dovecot")


def stop_dovecot(inst: Instance) -> None:
    pidfile = inst.root / "run" / "dovecot" / "master.pid"
    stop_pidfile(pidfile)


# --- Postfix -------------------------------------------------------------------------------


def postfix_main_cf(inst: Instance) -> str:
    r = inst.root
    conf = inst.postfix_conf
    domains = load_identities()["domains"]
    return f"""\
compatibility_level = 3.6
queue_directory = {r}/postfix/queue
data_directory = {r}/postfix/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{domains[0]}
mydomain = {domains[0]}
myorigin = $myhostname
mydestination =
relay_domains =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks =
alias_maps =
alias_database =
biff = no
maillog_file = {r}/log/postfix.log
maillog_file_prefixes = {r}
smtpd_banner = $myhostname ESMTP MSSante test operator
# 25 MB: the hard limit of Mon espace santé; advertised through EHLO SIZE.
message_size_limit = 26214400
virtual_mailbox_domains = {" ".join(domains)}
virtual_mailbox_maps = texthash:{conf}/virtual_mailboxes
virtual_transport = lmtp:inet:127.0.0.1:{inst.lmtp_port}
local_transport = error:no local delivery on this operator
default_transport = error:outside the MSSante trust space
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{inst.auth_port}
smtpd_sasl_auth_enable = no
# Inbound (MX): only mail for our own mailboxes.
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unlisted_recipient
# Submission: authenticated senders, recipients inside the trust space only.
submission_relay_restrictions = permit_sasl_authenticated, reject
submission_recipient_restrictions = check_recipient_access regexp:{conf}/trust_space, permit
"""


def postfix_master_cf(inst: Instance) -> str:
    # Debian's master.cf with chroot off (a chroot would need a copy of /etc in the queue
    # folder) and our two listeners instead of port 25.
    services = [
        f"127.0.0.1:{inst.mx_port} inet n - n - - smtpd",
        f"127.0.0.1:{inst.submission_port} inet n - n - - smtpd",
        "  -o syslog_name=postfix/submission",
        "  -o smtpd_sasl_auth_enable=yes",
        "  -o smtpd_relay_restrictions=$submission_relay_restrictions",
        "  -o smtpd_recipient_restrictions=$submission_recipient_restrictions",
        "pickup unix n - n 60 1 pickup",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "tlsmgr unix - - n 1000? 1 tlsmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "proxywrite unix - - n - 1 proxymap",
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
        "showq unix n - n - - showq",
        "error unix - - n - - error",
        "retry unix - - n - - error",
        "discard unix - - n - - discard",
        "local unix - n n - - local",
        "virtual unix - n n - - virtual",
        "lmtp unix - - n - - lmtp",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ]
    return "\n".join(services) + "\n"


def trust_space_regexp() -> str:
    domains = "|".join(d.replace(".", r"\.") for d in load_identities()["domains"])
    return (
        f"/@({domains})$/ DUNNO\n"
        "/./ REJECT 5.7.1 Recipient domain is outside the MSSante trust space\n"
    )


def register_alternate_config(conf: Path) -> None:
    """Postfix refuses `-c DIR` unless the default main.cf lists DIR (postconf(5))."""
    text = POSTFIX_ETC.read_text(encoding="utf-8") if POSTFIX_ETC.exists() else ""
    lines = text.splitlines()
    key = "alternate_config_directories"
    current = next((ln for ln in lines if ln.startswith(key)), None)
    dirs = current.split("=", 1)[1].split() if current else []
    if str(conf) in dirs:
        return
    new_line = f"{key} = {' '.join([*dirs, str(conf)])}"
    lines = [new_line if ln is current else ln for ln in lines] if current else [*lines, new_line]
    if "maillog_file" not in text:
        lines.append("maillog_file = /var/log/postfix.log")
    write(POSTFIX_ETC, "\n".join(lines) + "\n")


def write_postfix(inst: Instance) -> None:
    conf = inst.postfix_conf
    write(conf / "main.cf", postfix_main_cf(inst))
    write(conf / "master.cf", postfix_master_cf(inst))
    write(conf / "trust_space", trust_space_regexp())
    write_virtual_mailboxes(inst)
    (inst.root / "postfix" / "queue").mkdir(parents=True, exist_ok=True)
    data = inst.root / "postfix" / "data"
    data.mkdir(parents=True, exist_ok=True)
    shutil.chown(data, user="postfix")
    register_alternate_config(conf)


def write_virtual_mailboxes(inst: Instance) -> None:
    addresses = mailbox_addresses(load_identities()) + added_addresses(inst)
    write(inst.postfix_conf / "virtual_mailboxes", "".join(f"{a} OK\n" for a in addresses))


def added_addresses(inst: Instance) -> list[str]:
    """Mailboxes added with `add-user` (a test's own), kept across restarts."""
    path = inst.root / "added_users"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def add_users(inst: Instance, addresses: list[str]) -> None:
    """New mailboxes at the running operator: Dovecot reads its passwd-file at each login,
    Postfix's recipient table is reloaded."""
    known = added_addresses(inst)
    write(inst.root / "added_users", "\n".join(known + [a for a in addresses if a not in known]))
    write_dovecot(inst)
    write_virtual_mailboxes(inst)
    if postfix_running(inst):
        run_daemon(inst, ["postfix", "-c", str(inst.postfix_conf), "reload"], "postfix")


def start_postfix(inst: Instance) -> None:
    if postfix_running(inst) and port_open(inst.submission_port):
        return
    refuse_taken(inst, "postfix", (inst.mx_port, inst.submission_port))
    write_postfix(inst)
    run_daemon(inst, ["postfix", "-c", str(inst.postfix_conf), "start"], "postfix")


def stop_postfix(inst: Instance) -> None:
    if (inst.postfix_conf / "main.cf").exists():
        run_daemon(inst, ["postfix", "-c", str(inst.postfix_conf), "stop"], "postfix", check=False)
    wait_closed(inst.submission_port)


# --- Process helpers -----------------------------------------------------------------------


def run_daemon(inst: Instance, argv: list[str], name: str, check: bool = True) -> None:
    """Run a daemon's control command with its output in a log file, never in our pipes:
    a daemon that inherits a caller's pipe keeps it open and the caller waits forever."""
    log = inst.root / "log" / f"{name}-control.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    if check and result.returncode != 0:
        daemon_log = inst.root / "log" / f"{name}.log"
        tail = daemon_log.read_text(errors="replace")[-2000:] if daemon_log.exists() else ""
        sys.exit(f"{' '.join(argv)} failed:\n{log.read_text(errors='replace')[-2000:]}\n{tail}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_open(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(port):
        if time.monotonic() > deadline:
            sys.exit(f"port {port} did not open within {seconds}s")
        time.sleep(0.1)


def wait_ehlo(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
                if smtp.ehlo()[0] == 250:
                    return
        except (OSError, smtplib.SMTPException):
            pass
        time.sleep(0.1)
    sys.exit(f"port {port} did not answer EHLO within {seconds}s")


def wait_closed(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.1)


def stop_pidfile(pidfile: Path) -> None:
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError):
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


# --- Commands ------------------------------------------------------------------------------

COMPONENTS = ("dovecot", "postfix")


def start(inst: Instance, components: tuple[str, ...], introspection_url: str = "") -> None:
    inst.root.mkdir(parents=True, exist_ok=True)
    if introspection_url and write_oauth2(inst, introspection_url) and dovecot_running(inst):
        write_dovecot(inst)
        run_daemon(inst, ["doveadm", "-c", str(inst.dovecot_conf), "reload"], "dovecot")
    if "dovecot" in components:
        was_down = not port_open(inst.imap_port)
        start_dovecot(inst)
        wait_open(inst.imap_port)
        wait_open(inst.auth_port)
        if was_down and port_open(inst.submission_port):
            # Postfix's smtpd processes hold connections to the old auth service: renew them,
            # and return once submission answers EHLO again (its new processes ask the auth
            # service for the SASL mechanisms).
            run_daemon(inst, ["postfix", "-c", str(inst.postfix_conf), "reload"], "postfix")
            wait_ehlo(inst.submission_port)
    if "postfix" in components:
        start_postfix(inst)
        wait_open(inst.mx_port)
        wait_open(inst.submission_port)


def stop(inst: Instance, components: tuple[str, ...]) -> None:
    if "postfix" in components:
        stop_postfix(inst)
    if "dovecot" in components:
        stop_dovecot(inst)
        wait_closed(inst.imap_port)


def environment(inst: Instance) -> dict[str, str]:
    """What the webmail needs to reach this operator (see webmail/settings.py)."""
    return {
        "OPERATOR_IMAP_HOST": "127.0.0.1",
        "OPERATOR_IMAP_PORT": str(inst.imap_port),
        "OPERATOR_IMAP_SECURITY": "none",
        "OPERATOR_SMTP_HOST": "127.0.0.1",
        "OPERATOR_SMTP_PORT": str(inst.submission_port),
        "OPERATOR_SMTP_SECURITY": "none",
        "OPERATOR_MX_PORT": str(inst.mx_port),
        # Postfix's bounces come from MAILER-DAEMON@$myhostname (postfix_main_cf).
        "OPERATOR_REPORTING_ADDRESSES": f"MAILER-DAEMON@mx.{load_identities()['domains'][0]}",
        # The webmail's trust-list check lets the operator's own domains pass (TL5).
        "TRUSTLIST_OPERATOR_DOMAINS": ",".join(load_identities()["domains"]),
        "OPERATOR_MASTER_USER": MASTER_USER,
        "OPERATOR_MASTER_PASSWORD": read_or_create_secret(inst.master_secret),
    }


def status(inst: Instance) -> dict[str, bool]:
    return {
        "imap": port_open(inst.imap_port),
        "lmtp": port_open(inst.lmtp_port),
        "mx": port_open(inst.mx_port),
        "submission": port_open(inst.submission_port),
    }


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, Instance]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command", choices=["start", "stop", "restart", "status", "env", "add-user"]
    )
    parser.add_argument(
        "components", nargs="*", help="dovecot, postfix (default: both); add-user: addresses"
    )
    parser.add_argument("--name", default="demo")
    parser.add_argument("--port-base", type=int, default=31000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true", help="wipe all mail and state first")
    parser.add_argument(
        "--introspection-url",
        default=os.environ.get("OPERATOR_INTROSPECTION_URL", ""),
        help="enable XOAUTH2: the provider's token introspection URL, with client credentials",
    )
    args = parser.parse_args(argv)
    if args.command == "add-user":
        if not args.components:
            parser.error("add-user: which address(es)?")
    elif unknown := set(args.components) - set(COMPONENTS):
        parser.error(f"unknown component(s): {', '.join(sorted(unknown))}")
    root = args.dir or Path(tempfile.gettempdir()) / f"mssante-operator-{args.name}"
    return args, Instance(args.name, root.resolve(), args.port_base)


def main(argv: list[str]) -> None:
    args, inst = parse_args(argv)
    if args.command == "add-user":
        add_users(inst, args.components)
        return
    components = tuple(args.components) or COMPONENTS
    if args.command in ("stop", "restart") or args.fresh:
        stop(inst, components)
    if args.fresh and inst.root.exists():
        shutil.rmtree(inst.root)
    if args.command in ("start", "restart"):
        start(inst, components, args.introspection_url)
    if args.command == "env":
        for key, value in environment(inst).items():
            print(f"export {key}={value}")
    elif args.command != "stop":
        print(json.dumps({"root": str(inst.root), **status(inst)}))


if __name__ == "__main__":
    main(sys.argv[1:])
