#!/usr/bin/env python3
"""Capture real SyncEvolution client messages as test fixtures.

Plays just enough of a SyncML server (python3 stdlib HTTP on 127.0.0.1) to take the Debian
`syncevolution` command-line client through a slow sync of a few contacts and events:

  pkg 1 (client: Put DevInf, Alert per datastore)   -> Status 212/200, Alert 201 with anchors
  pkg 3 (client: Sync with Add items)               -> Status per item, Sync with server Adds
  pkg 5 (client: Map for the server's Adds)         -> Status for the Map, Final

Every request body and the reply to it is stored as NN-request.<ext> / NN-response.<ext>
(ext = xml or wbxml; WBXML messages also get NN-*.wbxml2xml.xml, decoded by `wbxml2xml -m 0`).
WBXML replies are encoded with `xml2wbxml -k -n -v 1.2`.

Each of the four version/encoding scenarios runs a slow sync and then, after a change, a delete
and an add on the phone, a two-way sync (where the server sends a Replace and a Delete by the
LUIDs the client mapped). `1.2-xml-multimsg` slow-syncs 40 contacts with maxMsgSize=10240, so
the client's package 3 spans several messages answered with Alert 222.
`1.1-wbxml-tasks-notes` slow-syncs two vCalendar 1.0 tasks and two text/plain notes.

Usage: scripts/capture_syncml.py [--out tests/fixtures/syncevolution] [--only 1.2-xml ...]
       scripts/capture_syncml.py --serve PORT --out DIR   (server only, for harness tests)
Needs: syncevolution, gcc, libwbxml2-utils (Debian packages).
"""

import argparse
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIM_SOURCE = os.path.join(REPO, "tests", "support", "curl_shim.c")
CLIENT_TIMEOUT = 120

PHONE_CONTACTS = {
    "1": "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\n"
         "TEL;CELL:+442079460000\r\nTEL;WORK:+442079460001\r\n"
         "EMAIL;INTERNET:ada@example.org\r\nEND:VCARD\r\n",
    "2": "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8:M\u00fcller;J\u00fcrgen;;;\r\n"
         "TEL;HOME:+49301234567\r\nADR;HOME:;;Hauptstr. 1;Berlin;;10115;Germany\r\n"
         "NOTE:Line one\\nline two\r\nEND:VCARD\r\n",
    "3": "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Hopper;Grace;;;\r\nORG:US Navy\r\n"
         "BDAY:1906-12-09\r\nTEL;CELL;PREF:+12025550100\r\nEND:VCARD\r\n",
}
PHONE_EVENTS = {
    "1": "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Team meeting\r\n"
         "DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nLOCATION:Room 2\r\n"
         "RRULE:W1 MO #10\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "2": "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Dentist\r\n"
         "DTSTART:20260212T143000Z\r\nDTEND:20260212T150000Z\r\n"
         "AALARM:20260212T141500Z;;;\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
}
PHONE_TASKS = {
    "1": "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:Buy milk\r\n"
         "DUE:20260105T170000Z\r\nPRIORITY:1\r\nSTATUS:NEEDS ACTION\r\nEND:VTODO\r\n"
         "END:VCALENDAR\r\n",
    "2": "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:File taxes\r\n"
         "STATUS:COMPLETED\r\nCOMPLETED:20260102T120000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
}
PHONE_NOTES = {
    "1": "Shopping list\nmilk\neggs\n",
    "2": "Door code 4711 \u2013 caf\u00e9 upstairs\n",
}
SERVER_ITEMS = {
    "text/x-vcard": ("srv-contact-1",
                     "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Turing;Alan;;;\r\nFN:Alan Turing\r\n"
                     "TEL;CELL:+441234567890\r\nEND:VCARD\r\n"),
    "text/x-vcalendar": ("srv-event-1",
                         "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\n"
                         "SUMMARY:Server event\r\nDTSTART:20260301T080000Z\r\n"
                         "DTEND:20260301T083000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
}
DATASTORE_FORMAT = {"Contacts": "text/x-vcard", "Calendar": "text/x-vcalendar"}


def local(tag):
    return tag.rsplit("}", 1)[-1]


def child(elem, *names):
    """Follow a path of local names; None when absent."""
    for name in names:
        if elem is None:
            return None
        elem = next((c for c in elem if local(c.tag) == name), None)
    return elem


def text(elem, *names):
    found = child(elem, *names)
    return (found.text or "").strip() if found is not None else ""


def run_tool(args, what):
    proc = subprocess.run(args, capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.decode(errors='replace')}")
    return proc


def wbxml_to_xml(data, workdir):
    src, dst = os.path.join(workdir, "in.wbxml"), os.path.join(workdir, "out.xml")
    with open(src, "wb") as f:
        f.write(data)
    run_tool(["wbxml2xml", "-m", "0", "-o", dst, src], "wbxml2xml")
    with open(dst, "rb") as f:
        return f.read()


def xml_to_wbxml(data, workdir):
    src, dst = os.path.join(workdir, "in.xml"), os.path.join(workdir, "out.wbxml")
    with open(src, "wb") as f:
        f.write(data)
    # -k keeps item data byte-exact (the XML we write has no whitespace between elements),
    # -n uses inline strings only.
    run_tool(["xml2wbxml", "-k", "-n", "-v", "1.2", "-o", dst, src], "xml2wbxml")
    with open(dst, "rb") as f:
        return f.read()


class Server:
    """What the capture server remembers: the current session and the client's Map entries."""

    def __init__(self):
        self.sessions = {}  # SessionID -> Session
        self.maps = {}  # (server db uri, guid) -> client LUID


class Session:
    """Server-side state of one SyncML session."""

    def __init__(self, version):
        self.version = version  # "1.1" or "1.2", from the client's VerDTD
        self.msg_id = 0
        self.datastores = []  # (alert code, client uri, server uri, format)
        self.sent_server_changes = False
        self.auth_done = False

    def header(self, req_hdr, resp_uri):
        self.msg_id += 1
        return (
            f"<SyncHdr><VerDTD>{self.version}</VerDTD><VerProto>SyncML/{self.version}</VerProto>"
            f"<SessionID>{escape(text(req_hdr, 'SessionID'))}</SessionID>"
            f"<MsgID>{self.msg_id}</MsgID>"
            f"<Target><LocURI>{escape(text(req_hdr, 'Source', 'LocURI'))}</LocURI></Target>"
            f"<Source><LocURI>{escape(text(req_hdr, 'Target', 'LocURI'))}</LocURI></Source>"
            f"<RespURI>{escape(resp_uri)}</RespURI></SyncHdr>"
        )


def status(cmd_id, msg_ref, cmd_ref, cmd, code, target_ref=None, source_ref=None, extra=""):
    refs = ""
    if target_ref:
        refs += f"<TargetRef>{escape(target_ref)}</TargetRef>"
    if source_ref:
        refs += f"<SourceRef>{escape(source_ref)}</SourceRef>"
    return (f"<Status><CmdID>{cmd_id}</CmdID><MsgRef>{msg_ref}</MsgRef><CmdRef>{cmd_ref}</CmdRef>"
            f"<Cmd>{cmd}</Cmd>{refs}<Data>{code}</Data>{extra}</Status>")


def items_of(command):
    return [c for c in command if local(c.tag) == "Item"]


def server_changes(server, code, client_uri, server_uri, fmt, next_id):
    """The server's Sync for one datastore: in a slow sync one Add; in a two-way sync a Replace
    of that item when it is a contact and a Delete of it when it is an event (by mapped LUID)."""
    if fmt not in SERVER_ITEMS:
        return ""
    guid, data = SERVER_ITEMS[fmt]
    sync_id = next_id()
    ops = ""
    if code == "201":
        ops = (f"<Add><CmdID>{next_id()}</CmdID><Meta><Type xmlns=\"syncml:metinf\">{fmt}</Type>"
               f"</Meta><Item><Source><LocURI>{guid}</LocURI></Source>"
               f"<Data>{escape(data)}</Data></Item></Add>")
    elif code == "200" and (server_uri, guid) in server.maps:
        luid = escape(server.maps[(server_uri, guid)])
        if fmt == "text/x-vcard":
            changed = data.replace("+441234567890", "+441234567899")
            ops = (f"<Replace><CmdID>{next_id()}</CmdID><Meta><Type xmlns=\"syncml:metinf\">"
                   f"{fmt}</Type></Meta><Item><Target><LocURI>{luid}</LocURI></Target>"
                   f"<Source><LocURI>{guid}</LocURI></Source>"
                   f"<Data>{escape(changed)}</Data></Item></Replace>")
        else:
            ops = (f"<Delete><CmdID>{next_id()}</CmdID><Item><Target><LocURI>{luid}</LocURI>"
                   f"</Target><Source><LocURI>{guid}</LocURI></Source></Item></Delete>")
    count = 1 if ops else 0
    return (f"<Sync><CmdID>{sync_id}</CmdID>"
            f"<Target><LocURI>{escape(client_uri)}</LocURI></Target>"
            f"<Source><LocURI>{escape(server_uri)}</LocURI></Source>"
            f"<NumberOfChanges>{count}</NumberOfChanges>{ops}</Sync>")


def answer(server, request_xml, resp_uri):
    root = ET.fromstring(request_xml)
    hdr, body = child(root, "SyncHdr"), child(root, "SyncBody")
    session_id = text(hdr, "SessionID")
    session = server.sessions.get(session_id)
    if session is None or text(hdr, "MsgID") == "1":
        session = Session(text(hdr, "VerDTD"))
        server.sessions = {session_id: session}
    msg_ref = text(hdr, "MsgID")
    cmd = [0]

    def next_id():
        cmd[0] += 1
        return cmd[0]

    out = []
    hdr_code = 200 if session.auth_done else 212
    session.auth_done = True
    out.append(status(next_id(), msg_ref, 0, "SyncHdr", hdr_code,
                      text(hdr, "Target", "LocURI"), text(hdr, "Source", "LocURI")))
    alerts, gets, final = [], [], child(body, "Final") is not None
    saw_sync = False
    for command in body:
        name = local(command.tag)
        ref = text(command, "CmdID")
        if name in ("Status", "Final", "Results"):
            continue
        if name == "Alert":
            code = text(command, "Data")
            for item in items_of(command):
                target = text(item, "Target", "LocURI")
                source = text(item, "Source", "LocURI")
                anchor_next = text(item, "Meta", "Anchor", "Next")
                echo = (f"<Item><Data><Anchor xmlns=\"syncml:metinf\"><Next>{escape(anchor_next)}"
                        f"</Next></Anchor></Data></Item>") if anchor_next else ""
                out.append(status(next_id(), msg_ref, ref, "Alert", 200, target, source, echo))
                if code in ("200", "201", "202", "203", "204", "205"):
                    alerts.append((code, target, source))
        elif name in ("Put", "Get"):
            for item in items_of(command):
                out.append(status(next_id(), msg_ref, ref, name, 200,
                                  text(item, "Target", "LocURI") or None,
                                  text(item, "Source", "LocURI") or None))
            if name == "Get":
                gets.append(ref)
        elif name == "Sync":
            saw_sync = True
            out.append(status(next_id(), msg_ref, ref, "Sync", 200,
                              text(command, "Target", "LocURI"), text(command, "Source", "LocURI")))
            for op in command:
                op_name = local(op.tag)
                if op_name not in ("Add", "Replace", "Delete"):
                    continue
                code = {"Add": 201, "Replace": 200, "Delete": 200}[op_name]
                for item in items_of(op):
                    out.append(status(next_id(), msg_ref, text(op, "CmdID"), op_name, code,
                                      text(item, "Target", "LocURI") or None,
                                      text(item, "Source", "LocURI") or None))
        elif name == "Map":
            server_uri = text(command, "Target", "LocURI")
            for item in (c for c in command if local(c.tag) == "MapItem"):
                server.maps[(server_uri, text(item, "Target", "LocURI"))] = \
                    text(item, "Source", "LocURI")
            out.append(status(next_id(), msg_ref, ref, "Map", 200,
                              server_uri, text(command, "Source", "LocURI")))
        else:
            out.append(status(next_id(), msg_ref, ref, name, 200))

    devinf_uri = "./devinf12" if session.version == "1.2" else "./devinf11"
    for ref in gets:
        out.append(
            f"<Results><CmdID>{next_id()}</CmdID><MsgRef>{msg_ref}</MsgRef><CmdRef>{ref}</CmdRef>"
            f"<Meta><Type xmlns=\"syncml:metinf\">application/vnd.syncml-devinf+xml</Type></Meta>"
            f"<Item><Source><LocURI>{devinf_uri}</LocURI></Source><Data>"
            f"<DevInf xmlns=\"syncml:devinf\"><VerDTD>{session.version}</VerDTD><Man>fixture</Man>"
            f"<Mod>capture</Mod><OEM>-</OEM><FwV>-</FwV><SwV>1</SwV><HwV>-</HwV>"
            f"<DevID>capture-server</DevID><DevTyp>server</DevTyp></DevInf></Data></Item></Results>")

    for code, target, source in alerts:
        fmt = DATASTORE_FORMAT.get(target)
        session.datastores.append((code, source, target, fmt))
        # A two-way sync gets Last = the Next of the previous session.
        last = "srv-anchor-1" if code == "200" else ""
        out.append(
            f"<Alert><CmdID>{next_id()}</CmdID><Data>{code}</Data><Item>"
            f"<Target><LocURI>{escape(source)}</LocURI></Target>"
            f"<Source><LocURI>{escape(target)}</LocURI></Source>"
            f"<Meta><Anchor xmlns=\"syncml:metinf\"><Last>{last}</Last>"
            f"<Next>srv-anchor-{2 if last else 1}</Next></Anchor></Meta></Item></Alert>")

    if not final:
        # More of the client's package follows: ask for it.
        out.append(
            f"<Alert><CmdID>{next_id()}</CmdID><Data>222</Data><Item>"
            f"<Target><LocURI>{escape(text(hdr, 'Source', 'LocURI'))}</LocURI></Target>"
            f"<Source><LocURI>{escape(text(hdr, 'Target', 'LocURI'))}</LocURI></Source>"
            f"</Item></Alert>")
    elif saw_sync and not session.sent_server_changes:
        session.sent_server_changes = True
        for code, client_uri, server_uri, fmt in session.datastores:
            out.append(server_changes(server, code, client_uri, server_uri, fmt, next_id))
    reply_hdr = session.header(hdr, resp_uri)
    final_tag = "<Final/>" if final else ""
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            f"<SyncML xmlns=\"SYNCML:SYNCML{session.version}\">{reply_hdr}"
            f"<SyncBody>{''.join(out)}{final_tag}</SyncBody></SyncML>").encode("utf-8")


def make_handler(server, outdir, workdir, counter, errors):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("capture: " + (fmt % args) + "\n")

        def do_POST(self):
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                wbxml = "wbxml" in self.headers.get("Content-Type", "")
                counter[0] += 1
                n = counter[0]
                ext = "wbxml" if wbxml else "xml"
                with open(os.path.join(outdir, f"{n:02}-request.{ext}"), "wb") as f:
                    f.write(body)
                request_xml = wbxml_to_xml(body, workdir) if wbxml else body
                if wbxml:
                    with open(os.path.join(outdir, f"{n:02}-request.wbxml2xml.xml"), "wb") as f:
                        f.write(request_xml)
                port = self.server.server_address[1]
                reply_xml = answer(server, request_xml, f"http://127.0.0.1:{port}/syncml?sid=1")
                reply = xml_to_wbxml(reply_xml, workdir) if wbxml else reply_xml
                with open(os.path.join(outdir, f"{n:02}-response.{ext}"), "wb") as f:
                    f.write(reply)
                if wbxml:
                    with open(os.path.join(outdir, f"{n:02}-response.wbxml2xml.xml"), "wb") as f:
                        f.write(wbxml_to_xml(reply, workdir))
                self.send_response(200)
                self.send_header("Content-Type",
                                 "application/vnd.syncml+" + ("wbxml" if wbxml else "xml"))
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except Exception as exc:  # report, answer 500, let the client stop
                errors.append(repr(exc))
                sys.stderr.write(f"capture: error: {exc!r}\n")
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

    return Handler


def build_shim(workdir):
    shim = os.path.join(workdir, "curl_shim.so")
    run_tool(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", shim, SHIM_SOURCE, "-ldl"], "gcc")
    return shim


def client_command(*args):
    return ["syncevolution", "--daemon=no", *args]


def many_contacts(count):
    return {str(i): (f"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Contact{i:03};Test;;;\r\n"
                     f"TEL;CELL:+4930{i:07}\r\nEMAIL;INTERNET:test{i}@example.org\r\n"
                     f"NOTE:{'padding ' * 20}\r\nEND:VCARD\r\n")
            for i in range(1, count + 1)}


def change_phone(tmp):
    """Between the slow and the two-way session: one contact changed, one event deleted, one
    contact added on the phone."""
    path = os.path.join(tmp, "contacts", "1")
    with open(path, encoding="utf-8") as f:
        card = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(card.replace("+442079460001", "+442079460002"))
    later = os.stat(path).st_mtime + 2  # the file backend compares modification times
    os.utime(path, (later, later))
    os.remove(os.path.join(tmp, "calendar", "2"))
    with open(os.path.join(tmp, "contacts", "new-1"), "w", encoding="utf-8") as f:
        f.write("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Hamilton;Margaret;;;\r\n"
                "TEL;WORK:+16175550199\r\nEND:VCARD\r\n")


# datastore name on the phone -> (server URI, format)
STORES = {
    "contacts": ("Contacts", "text/x-vcard"),
    "calendar": ("Calendar", "text/x-vcalendar"),
    "tasks": ("Tasks", "text/x-vcalendar"),
    "notes": ("Notes", "text/plain"),
}
EVENTS_AND_CONTACTS = {"contacts": PHONE_CONTACTS, "calendar": PHONE_EVENTS}

# name -> (SyncML version, WBXML, phone items per datastore, maxMsgSize, two-way follow-up)
SCENARIOS = {
    "1.1-xml": ("1.1", False, EVENTS_AND_CONTACTS, 20000, True),
    "1.1-wbxml": ("1.1", True, EVENTS_AND_CONTACTS, 20000, True),
    "1.2-xml": ("1.2", False, EVENTS_AND_CONTACTS, 20000, True),
    "1.2-wbxml": ("1.2", True, EVENTS_AND_CONTACTS, 20000, True),
    "1.2-xml-multimsg": ("1.2", False, {"contacts": many_contacts(40), "calendar": PHONE_EVENTS},
                         10240, False),
    "1.1-wbxml-tasks-notes": ("1.1", True, {"tasks": PHONE_TASKS, "notes": PHONE_NOTES}, 20000,
                              False),
}


def capture(name, outdir, shim):
    version, wbxml, stores, max_msg_size, follow_up = SCENARIOS[name]
    target = os.path.join(outdir, name)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    with tempfile.TemporaryDirectory(prefix="capture-") as tmp:
        counter, errors = [0], []
        httpd = http.server.HTTPServer(("127.0.0.1", 0), make_handler(
            Server(), target, tmp, counter, errors))
        port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        env = dict(os.environ)
        for sub in ("config", "cache", "data"):
            os.makedirs(os.path.join(tmp, sub))
        env.update(XDG_CONFIG_HOME=os.path.join(tmp, "config"),
                   XDG_CACHE_HOME=os.path.join(tmp, "cache"),
                   XDG_DATA_HOME=os.path.join(tmp, "data"), LD_PRELOAD=shim)
        for store, items in stores.items():
            os.makedirs(os.path.join(tmp, store))
            for item, content in items.items():
                with open(os.path.join(tmp, store, item), "w", encoding="utf-8") as f:
                    f.write(content)
        run_client(client_command(*configure_args(version, wbxml, max_msg_size, port, tmp,
                                                  list(stores))), env)
        outputs = []
        modes = ["slow", "two-way"] if follow_up else ["slow"]
        for mode in modes:
            if mode == "two-way":
                change_phone(tmp)
            result = run_client(client_command("--sync", mode, "phone@capture", *stores),
                                env, check=False)
            output = result.stdout.decode(errors="replace")
            outputs.append(f"==== syncevolution --sync {mode} (after message {counter[0]:02})\n"
                           + output)
            if errors or result.returncode != 0:
                httpd.shutdown()
                raise RuntimeError(f"{name} {mode}: exit {result.returncode}, server errors "
                                   f"{errors}:\n{output}")
        httpd.shutdown()
        with open(os.path.join(target, "client-output.txt"), "w") as f:
            f.write("\n".join(outputs))
        print(f"{name}: {counter[0]} messages captured in {target}")


def configure_args(version, wbxml, max_msg_size, port, tmp, stores):
    args = ["--configure", "--template", "none", "keyring=no",
            f"syncURL=http://127.0.0.1:{port}/syncml", "username=alice", "password=secret",
            "deviceId=capture-phone-1", f"enableWBXML={1 if wbxml else 0}",
            f"SyncMLVersion={version}", "clientAuthType=md5", f"maxMsgSize={max_msg_size}",
            "preventSlowSync=0", "RetryInterval=0", "enableRefreshSync=1", "printChanges=0",
            "dumpData=0"]
    for store in stores:
        uri, fmt = STORES[store]
        args += [f"{store}/backend=file", f"{store}/database=file://{tmp}/{store}",
                 f"{store}/databaseFormat={fmt}", f"{store}/syncFormat={fmt}",
                 f"{store}/forceSyncFormat=1", f"{store}/uri={uri}"]
    return args + ["phone@capture", *stores]


def run_client(command, env, check=True):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=CLIENT_TIMEOUT)
    if check and result.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n" + result.stdout.decode(errors="replace"))
    return result


def serve(port, outdir):
    """Serve sessions until killed, recording every message in outdir (for harness tests)."""
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="capture-serve-") as tmp:
        errors = []
        httpd = http.server.HTTPServer(("127.0.0.1", port), make_handler(
            Server(), outdir, tmp, [0], errors))
        print(f"listening on 127.0.0.1:{httpd.server_address[1]}", flush=True)
        httpd.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "syncevolution"))
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS),
                        help="capture only these scenarios")
    parser.add_argument("--serve", type=int, metavar="PORT",
                        help="only run the server on 127.0.0.1:PORT, recording into --out")
    opts = parser.parse_args()
    tools = [("wbxml2xml", "libwbxml2-utils"), ("xml2wbxml", "libwbxml2-utils")]
    if opts.serve is None:
        tools += [("syncevolution", "syncevolution"), ("gcc", "gcc")]
    for tool, package in tools:
        if shutil.which(tool) is None:
            sys.exit(f"missing {tool}: install Debian package {package}")
    if opts.serve is not None:
        serve(opts.serve, opts.out)
        return
    with tempfile.TemporaryDirectory(prefix="capture-shim-") as shimdir:
        shim = build_shim(shimdir)
        for name in SCENARIOS:
            if opts.only and name not in opts.only:
                continue
            capture(name, opts.out, shim)


if __name__ == "__main__":
    main()
