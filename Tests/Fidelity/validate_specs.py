#!/usr/bin/env python3
"""Drives the BankSync sandbox through Plaid and GoCardless flows and validates every provider
response against the providers' own OpenAPI documents (../shared/specs beside the repository).

Usage: validate_specs.py --base-url http://127.0.0.1:PORT [--specs DIR]

Covers the success path of every endpoint the sandbox serves for the two providers, plus the
error statuses the documents declare (Plaid: every error against PlaidError; GoCardless:
401/403/404/400/429/500/503 against ErrorResponse), using the sandbox's control API to inject
faults and move the clock. Exits 1 on any schema mismatch or broken flow step.
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # keep the work tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fidelity_http import call  # noqa: E402
from spec_check import SpecChecker, report  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PLAID_CLIENT = {"client_id": "sandbox-client-id", "secret": "sandbox-secret"}
PLAID_INSTITUTIONS = ["ins_109508", "ins_109509", "ins_109510", "ins_109511", "ins_109512"]
GC_SECRETS = {"secret_id": "sandbox-secret-id", "secret_key": "sandbox-secret-key"}


class FlowError(Exception):
    """A step answered with a status the flow did not expect; later steps depend on it."""


class Flow:
    def __init__(self, base: str, plaid: SpecChecker, gocardless: SpecChecker):
        self.base = base.rstrip("/")
        self.plaid_spec = plaid
        self.gc_spec = gocardless
        self.failures: list = []
        self.gc_token = ""
        self.coverage = {"plaid added": 0, "plaid modified": 0, "plaid removed": 0, "gocardless booked": 0, "gocardless pending": 0}

    # -- plumbing ---------------------------------------------------------------------------

    def _expect(self, provider: str, method: str, path: str, reply, expect) -> None:
        wanted = expect if isinstance(expect, (list, tuple, set)) else [expect]
        if reply.status not in wanted:
            message = f"{provider} {method} {path}: expected HTTP {'/'.join(map(str, wanted))}, got {reply.status}: {reply.body[:300]!r}"
            self.failures.append(message)
            raise FlowError(message)

    def plaid(self, endpoint: str, body: dict | None = None, expect=200, auth: bool = True):
        payload = dict(PLAID_CLIENT) if auth else {}
        payload.update(body or {})
        reply = call("POST", f"{self.base}/plaid{endpoint}", payload)
        self.plaid_spec.check("POST", endpoint, reply.status, reply.body)
        self._expect("plaid", "POST", endpoint, reply, expect)
        return reply.json()

    def gc(self, method: str, template: str, path: str | None = None, body=None, expect=200, auth: bool = True, query: str = ""):
        path = path or template
        headers = {"authorization": f"Bearer {self.gc_token}"} if auth and self.gc_token else {}
        reply = call(method, f"{self.base}/gocardless{path}{query}", body, headers=headers)
        self.gc_spec.check(method, template, reply.status, reply.body)
        self._expect("gocardless", method, path + query, reply, expect)
        return reply.json() if reply.body else None

    def control(self, method: str, path: str, body=None):
        reply = call(method, f"{self.base}/sandbox{path}", body)
        if reply.status >= 300:
            message = f"control {method} /sandbox{path}: HTTP {reply.status}: {reply.body[:300]!r}"
            self.failures.append(message)
            raise FlowError(message)
        return reply.json()

    def faults(self, rules: list) -> None:
        self.control("PUT", "/faults", {"rules": rules})

    def step(self, name: str, function) -> None:
        """Runs one independent part of the flow; a broken step does not hide the others."""
        try:
            function()
        except FlowError:
            pass
        except Exception as error:  # noqa: BLE001 - report anything that breaks a step
            self.failures.append(f"{name}: {type(error).__name__}: {error}")
        finally:
            try:
                call("DELETE", f"{self.base}/sandbox/faults")
            except OSError:
                pass

    # -- Plaid ------------------------------------------------------------------------------

    def plaid_flow(self, receiver) -> None:
        state: dict = {}

        def link():
            self.plaid("/link/token/create", {
                "client_name": "BankSync fidelity", "language": "en", "country_codes": ["US"],
                "user": {"client_user_id": "fidelity-user"}, "products": ["transactions"],
            })
            self.plaid("/link/token/create", {"client_name": "BankSync fidelity", "language": "en", "country_codes": ["US"]}, expect=400)
            self.plaid("/link/token/create", {"client_id": "nope", "secret": "nope", "client_name": "x", "language": "en",
                                              "country_codes": ["US"], "user": {"client_user_id": "u"}}, expect=400)
            self.plaid("/sandbox/public_token/create", {"institution_id": "ins_1", "initial_products": ["transactions"]}, expect=400)
            tokens = []
            for institution in PLAID_INSTITUTIONS:
                public = self.plaid("/sandbox/public_token/create", {
                    "institution_id": institution, "initial_products": ["transactions"], "options": {"webhook": receiver.url},
                })["public_token"]
                exchanged = self.plaid("/item/public_token/exchange", {"public_token": public})
                tokens.append(exchanged["access_token"])
                if institution == PLAID_INSTITUTIONS[0]:
                    self.plaid("/item/public_token/exchange", {"public_token": public}, expect=400)
                self.plaid("/institutions/get_by_id", {"institution_id": institution, "country_codes": ["US"]})
            self.plaid("/institutions/get_by_id", {"institution_id": "ins_1", "country_codes": ["US"]}, expect=400)
            state["tokens"] = tokens

        def read():
            cursors = {}
            for token in state["tokens"]:
                self.plaid("/item/get", {"access_token": token})
                accounts = self.plaid("/accounts/get", {"access_token": token})["accounts"]
                self.plaid("/accounts/get", {"access_token": token, "options": {"account_ids": [accounts[0]["account_id"]]}})
                self.plaid("/accounts/balance/get", {"access_token": token})
                cursors[token] = self._sync_all(token, "", count=50)
            self.plaid("/transactions/sync", {"access_token": state["tokens"][0], "count": 0}, expect=400)
            self.plaid("/transactions/sync", {"access_token": state["tokens"][0], "cursor": "bm90LWEtY3Vyc29y"}, expect=400)
            self.plaid("/accounts/get", {"access_token": "bogus"}, expect=400)
            self.plaid("/accounts/get", {"access_token": "access-sandbox-00000000-0000-0000-0000-000000000000"}, expect=400)
            self.plaid("/accounts/get", {}, expect=400)
            # Time passes: pending rows post, new rows arrive, some disappear.
            for _ in range(3):
                self.control("POST", "/clock/advance", {"days": 2})
                for token in state["tokens"]:
                    cursors[token] = self._sync_all(token, cursors[token], count=500)
            for token in state["tokens"][:2]:
                self.plaid("/transactions/refresh", {"access_token": token})
            self.control("POST", "/clock/advance", {"days": 1})
            # Paging interrupted by new data: TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION.
            token = state["tokens"][1]
            first = self.plaid("/transactions/sync", {"access_token": token, "count": 1, "cursor": ""})
            if first["has_more"]:
                self.control("POST", "/clock/advance", {"days": 2})
                self.plaid("/transactions/sync", {"access_token": token, "count": 1, "cursor": first["next_cursor"]}, expect=[200, 400])

        def webhooks():
            token = state["tokens"][0]
            receiver.received.clear()
            self.plaid("/sandbox/item/fire_webhook", {"access_token": token, "webhook_code": "SYNC_UPDATES_AVAILABLE"})
            self.plaid("/sandbox/item/fire_webhook", {"access_token": token, "webhook_code": "NOT_A_CODE"}, expect=400)
            self.plaid("/sandbox/item/fire_webhook", {"access_token": token}, expect=400)
            jwt = receiver.wait_for_header("plaid-verification", seconds=10)
            if jwt is None:
                self.failures.append("plaid /sandbox/item/fire_webhook: no webhook with a Plaid-Verification header arrived within 10 s")
                return
            header = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "=="))
            self.plaid("/webhook_verification_key/get", {"key_id": header["kid"]})
            self.plaid("/webhook_verification_key/get", {"key_id": "not-a-key"}, expect=400)
            self.plaid("/webhook_verification_key/get", {}, expect=400)

        def faults():
            token = state["tokens"][2]
            self.faults([
                {"provider": "plaid", "endpoint": "/accounts/get", "kind": kind, "calls": [n]}
                for n, kind in enumerate(["rate_limit", "server_error", "bad_gateway", "unavailable", "login_required", "token_expired"], 1)
            ])
            for status in (429, 500, 502, 503, 400, 400):
                self.plaid("/accounts/get", {"access_token": token}, expect=status)
            self.faults([
                {"provider": "plaid", "endpoint": "/transactions/sync", "kind": "rate_limit", "calls": [1]},
                {"provider": "plaid", "endpoint": "/transactions/sync", "kind": "mutation_during_pagination", "calls": [2]},
                {"provider": "plaid", "endpoint": "/accounts/balance/get", "kind": "rate_limit", "calls": [1]},
                {"provider": "plaid", "endpoint": "/item/get", "kind": "server_error", "calls": [1]},
            ])
            self.plaid("/transactions/sync", {"access_token": token}, expect=429)
            self.plaid("/transactions/sync", {"access_token": token}, expect=400)
            self.plaid("/accounts/balance/get", {"access_token": token}, expect=429)
            self.plaid("/item/get", {"access_token": token}, expect=500)

        def login_required_and_remove():
            token = state["tokens"][3]
            self.plaid("/sandbox/item/reset_login", {"access_token": token})
            self.plaid("/item/get", {"access_token": token})  # item.error is an ITEM_LOGIN_REQUIRED error
            self.plaid("/accounts/get", {"access_token": token}, expect=400)
            self.plaid("/accounts/balance/get", {"access_token": token}, expect=400)
            self.plaid("/transactions/sync", {"access_token": token}, expect=400)
            self.plaid("/transactions/refresh", {"access_token": token}, expect=400)
            self.plaid("/sandbox/item/fire_webhook", {"access_token": token, "webhook_code": "ERROR"})
            self.plaid("/item/remove", {"access_token": token})
            self.plaid("/item/get", {"access_token": token}, expect=400)
            self.plaid("/item/remove", {"access_token": token}, expect=400)
            self.plaid("/item/remove", {"access_token": state["tokens"][4]})

        self.step("plaid link", link)
        if "tokens" not in state:
            return
        self.step("plaid read", read)
        self.step("plaid webhooks", webhooks)
        self.step("plaid faults", faults)
        self.step("plaid login required / remove", login_required_and_remove)

    def _sync_all(self, token: str, cursor: str, count: int) -> str:
        for _ in range(200):
            page = self.plaid("/transactions/sync", {"access_token": token, "cursor": cursor, "count": count})
            for kind in ("added", "modified", "removed"):
                self.coverage[f"plaid {kind}"] += len(page[kind])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return cursor
        raise FlowError(f"plaid /transactions/sync: has_more still true after 200 pages for {token}")

    # -- GoCardless -------------------------------------------------------------------------

    def gocardless_flow(self) -> None:
        state: dict = {}
        inst = "SANDBOXFINANCE_SFIN0000"

        def tokens():
            self.gc("POST", "/api/v2/token/new/", body={"secret_id": "wrong", "secret_key": "wrong"}, expect=401, auth=False)
            pair = self.gc("POST", "/api/v2/token/new/", body=GC_SECRETS, auth=False)
            refreshed = self.gc("POST", "/api/v2/token/refresh/", body={"refresh": pair["refresh"]}, auth=False)
            self.gc("POST", "/api/v2/token/refresh/", body={"refresh": pair["access"]}, expect=401, auth=False)
            self.gc_token = refreshed["access"]

        def institutions():
            self.gc("GET", "/api/v2/institutions/", auth=False, expect=401)
            self.gc("GET", "/api/v2/institutions/", query="?country=gb")
            self.gc("GET", "/api/v2/institutions/")
            self.gc("GET", "/api/v2/institutions/{id}/", f"/api/v2/institutions/{inst}/")
            self.gc("GET", "/api/v2/institutions/{id}/", "/api/v2/institutions/REVOLUT_REVOGB21/")
            self.gc("GET", "/api/v2/institutions/{id}/", "/api/v2/institutions/NOPE_NOPE/", expect=404)

        def agreements():
            agreement = self.gc("POST", "/api/v2/agreements/enduser/", body={
                "institution_id": inst, "max_historical_days": 90, "access_valid_for_days": 30,
                "access_scope": ["balances", "details", "transactions"]}, expect=201)
            state["agreement"] = agreement["id"]
            throwaway = self.gc("POST", "/api/v2/agreements/enduser/", body={"institution_id": "REVOLUT_REVOGB21"}, expect=201)
            self.gc("POST", "/api/v2/agreements/enduser/", body={"institution_id": "NOPE_NOPE"}, expect=400)
            self.gc("POST", "/api/v2/agreements/enduser/", body={"institution_id": inst, "max_historical_days": 9999}, expect=400)
            self.gc("GET", "/api/v2/agreements/enduser/")
            self.gc("GET", "/api/v2/agreements/enduser/", query="?limit=1&offset=1")
            self.gc("GET", "/api/v2/agreements/enduser/{id}/", f"/api/v2/agreements/enduser/{agreement['id']}/")
            self.gc("GET", "/api/v2/agreements/enduser/{id}/", "/api/v2/agreements/enduser/00000000-0000-4000-8000-000000000000/", expect=404)
            self.gc("DELETE", "/api/v2/agreements/enduser/{id}/", f"/api/v2/agreements/enduser/{throwaway['id']}/")
            self.gc("DELETE", "/api/v2/agreements/enduser/{id}/", f"/api/v2/agreements/enduser/{throwaway['id']}/", expect=404)

        def requisitions():
            requisition = self.gc("POST", "/api/v2/requisitions/", body={
                "redirect": "http://127.0.0.1/fidelity/done", "institution_id": inst, "agreement": state["agreement"],
                "reference": "fidelity-ref-1", "user_language": "EN"}, expect=201)
            state["requisition"] = requisition["id"]
            self.gc("POST", "/api/v2/requisitions/", body={"institution_id": inst}, expect=400)
            self.gc("POST", "/api/v2/requisitions/", body={"redirect": "http://127.0.0.1/x", "institution_id": "NOPE_NOPE"}, expect=400)
            self.gc("POST", "/api/v2/requisitions/", body={"redirect": "http://127.0.0.1/x", "institution_id": inst, "reference": "fidelity-ref-1"}, expect=400)
            throwaway = self.gc("POST", "/api/v2/requisitions/", body={"redirect": "http://127.0.0.1/x", "institution_id": "REVOLUT_REVOGB21"}, expect=201)
            self.gc("GET", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{requisition['id']}/")
            consent = call("GET", requisition["link"])
            if consent.status != 302 or "ref=fidelity-ref-1" not in consent.headers.get("location", ""):
                raise FlowError(self._fail(f"gocardless consent link {requisition['link']}: expected a 302 to the redirect with ref=, got {consent.status} {consent.headers.get('location')}"))
            linked = self.gc("GET", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{requisition['id']}/")
            if linked["status"] != "LN" or not linked["accounts"]:
                raise FlowError(self._fail(f"gocardless requisition {requisition['id']} after consent: status {linked['status']}, accounts {linked['accounts']}"))
            state["accounts"] = linked["accounts"]
            self.gc("GET", "/api/v2/requisitions/")
            self.gc("GET", "/api/v2/requisitions/", query="?limit=1&offset=1")
            self.gc("GET", "/api/v2/requisitions/{id}/", "/api/v2/requisitions/00000000-0000-4000-8000-000000000000/", expect=404)
            self.gc("DELETE", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{throwaway['id']}/")
            self.gc("DELETE", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{throwaway['id']}/", expect=404)

        def accounts():
            for account in state["accounts"]:
                base = f"/api/v2/accounts/{account}"
                self.gc("GET", "/api/v2/accounts/{id}/", f"{base}/")
                self.gc("GET", "/api/v2/accounts/{id}/details/", f"{base}/details/")
                self.gc("GET", "/api/v2/accounts/{id}/balances/", f"{base}/balances/")
                rows = self.gc("GET", "/api/v2/accounts/{id}/transactions/", f"{base}/transactions/")["transactions"]
                self.coverage["gocardless booked"] += len(rows.get("booked", []))
                self.coverage["gocardless pending"] += len(rows.get("pending", []))
                self.gc("GET", "/api/v2/accounts/{id}/transactions/", f"{base}/transactions/", query="?date_from=2026-01-01&date_to=2026-03-01")
                self.gc("GET", "/api/v2/accounts/{id}/transactions/", f"{base}/transactions/", query="?date_from=01-01-2026", expect=400)
                self.gc("GET", "/api/v2/accounts/{id}/transactions/", f"{base}/transactions/", query="?date_from=2026-03-01&date_to=2026-01-01", expect=400)
            missing = "/api/v2/accounts/00000000-0000-4000-8000-000000000000"
            self.gc("GET", "/api/v2/accounts/{id}/", f"{missing}/", expect=404)
            self.gc("GET", "/api/v2/accounts/{id}/details/", f"{missing}/details/", expect=404)
            self.gc("GET", "/api/v2/accounts/{id}/balances/", f"{missing}/balances/", expect=404)
            self.gc("GET", "/api/v2/accounts/{id}/transactions/", f"{missing}/transactions/", expect=404)
            self.gc("GET", "/api/v2/accounts/{id}/", f"/api/v2/accounts/{state['accounts'][0]}/", auth=False, expect=401)

        def quota_and_faults():
            account = state["accounts"][0]
            base = f"/api/v2/accounts/{account}"
            for scope in ("details", "balances", "transactions"):
                template = f"/api/v2/accounts/{{id}}/{scope}/"
                self.faults([
                    {"provider": "gocardless", "endpoint": f"/api/v2/accounts/*/{scope}/", "kind": kind, "calls": [n]}
                    for n, kind in enumerate(["rate_limit", "server_error", "unavailable", "login_required", "token_expired"], 1)
                ])
                for status in (429, 500, 503, 401, 401):
                    self.gc("GET", template, f"{base}/{scope}/", expect=status)
                call("DELETE", f"{self.base}/sandbox/faults")
                # The bank's daily quota (4 successful calls per scope): the fifth is a 429.
                for _ in range(6):
                    reply = call("GET", f"{self.base}/gocardless{base}/{scope}/", headers={"authorization": f"Bearer {self.gc_token}"})
                    self.gc_spec.check("GET", template, reply.status, reply.body)
                    if reply.status == 429:
                        break
                    if reply.status != 200:
                        raise FlowError(self._fail(f"gocardless GET {base}/{scope}/: expected 200 until the quota runs out, got {reply.status}: {reply.body[:300]!r}"))
                else:
                    self._fail(f"gocardless GET {base}/{scope}/: no 429 after 6 calls (daily bank quota)")
            self.faults([{"provider": "gocardless", "endpoint": "/api/v2/requisitions/", "kind": "rate_limit", "calls": [1]},
                         {"provider": "gocardless", "endpoint": "/api/v2/institutions/", "kind": "rate_limit", "calls": [1]},
                         {"provider": "gocardless", "endpoint": "/api/v2/agreements/enduser/", "kind": "rate_limit", "calls": [1]}])
            self.gc("GET", "/api/v2/requisitions/", expect=429)
            self.gc("GET", "/api/v2/institutions/", expect=429)
            self.gc("GET", "/api/v2/agreements/enduser/", expect=429)

        def scope_and_expiry():
            limited = self.gc("POST", "/api/v2/agreements/enduser/", body={"institution_id": inst, "access_scope": ["balances"]}, expect=201)
            requisition = self.gc("POST", "/api/v2/requisitions/", body={
                "redirect": "http://127.0.0.1/fidelity/done", "institution_id": inst, "agreement": limited["id"]}, expect=201)
            call("GET", requisition["link"])
            linked = self.gc("GET", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{requisition['id']}/")
            account = linked["accounts"][0]
            self.gc("GET", "/api/v2/accounts/{id}/details/", f"/api/v2/accounts/{account}/details/", expect=403)
            self.gc("GET", "/api/v2/accounts/{id}/transactions/", f"/api/v2/accounts/{account}/transactions/", expect=403)
            self.gc("GET", "/api/v2/accounts/{id}/balances/", f"/api/v2/accounts/{account}/balances/")
            # The agreement runs out: EUAExpiredError on data, EXPIRED account, EX requisition.
            connection = next(c for c in self.control("GET", "/connections")["connections"] if c.get("requisition_id") == requisition["id"])
            self.control("POST", f"/connections/{connection['id']}/expire")
            self.gc("GET", "/api/v2/accounts/{id}/balances/", f"/api/v2/accounts/{account}/balances/", expect=401)
            self.gc("GET", "/api/v2/accounts/{id}/", f"/api/v2/accounts/{account}/")
            self.gc("GET", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{requisition['id']}/")
            self.gc("GET", "/api/v2/agreements/enduser/{id}/", f"/api/v2/agreements/enduser/{limited['id']}/")
            self.gc("DELETE", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{requisition['id']}/")

        self.step("gocardless tokens", tokens)
        if not self.gc_token:
            return
        self.step("gocardless institutions", institutions)
        self.step("gocardless agreements", agreements)
        if "agreement" not in state:
            return
        self.step("gocardless requisitions", requisitions)
        if "accounts" not in state:
            return
        self.step("gocardless accounts", accounts)
        self.step("gocardless quota and faults", quota_and_faults)
        self.step("gocardless scope and expiry", scope_and_expiry)
        self.step("gocardless delete", lambda: self.gc("DELETE", "/api/v2/requisitions/{id}/", f"/api/v2/requisitions/{state['requisition']}/"))

    def _fail(self, message: str) -> str:
        self.failures.append(message)
        return message


class WebhookReceiver:
    """Accepts the sandbox's webhook POSTs on 127.0.0.1 so the flow can read their headers."""

    def __init__(self):
        self.received: list = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("content-length") or 0)
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/plaid-webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for_header(self, name: str, seconds: float):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for headers, _ in self.received:
                if name in headers:
                    return headers[name]
            time.sleep(0.05)
        return None

    def close(self):
        self.server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the sandbox, e.g. http://127.0.0.1:18090")
    parser.add_argument("--specs", default=os.environ.get("FIDELITY_SPECS_DIR", str(REPO.parent / "shared" / "specs")))
    args = parser.parse_args()
    specs = Path(args.specs)
    plaid_doc = specs / "plaid-2020-09-14.yml"
    gc_doc = specs / "gocardless-bankaccountdata-v2.json"
    for doc in (plaid_doc, gc_doc):
        if not doc.is_file():
            print(f"FAIL spec document {doc} is missing (expected ../shared/specs beside the repository)")
            return 1
    plaid = SpecChecker("plaid", plaid_doc)
    gocardless = SpecChecker("gocardless", gc_doc)
    flow = Flow(args.base_url, plaid, gocardless)
    # The checker must be able to fail: bodies that break their schemas in known ways.
    known_bad = [
        (plaid, "POST", "/transactions/sync", 200, {"added": [{"transaction_id": 1}], "has_more": "no"}),
        (plaid, "POST", "/accounts/get", 400, {"error_type": "NOT_A_TYPE", "error_code": 7}),
        (gocardless, "GET", "/api/v2/accounts/{id}/transactions/", 200, {"transactions": {"booked": [{"bookingDate": "02/03/2026"}]}}),
        (gocardless, "POST", "/api/v2/requisitions/", 400, {"redirect": ["This field is required."]}),
    ]
    for checker, method, template, status, body in known_bad:
        if not checker.rejects(method, template, status, body):
            flow.failures.append(f"self-test: the validator accepted a broken {checker.provider} {method} {template} {status} body; checks are not working")
    receiver = WebhookReceiver()
    try:
        flow.plaid_flow(receiver)
        flow.gocardless_flow()
    finally:
        receiver.close()
    print("coverage: " + ", ".join(f"{k} {v}" for k, v in flow.coverage.items()) + " (rows validated)")
    empty = [k for k, v in flow.coverage.items() if v == 0]
    if empty:
        flow.failures.append(f"the flow produced no {', '.join(empty)} rows, so their schemas went unchecked")
    return report([plaid, gocardless], flow.failures, "spec-validation")


if __name__ == "__main__":
    sys.exit(main())
