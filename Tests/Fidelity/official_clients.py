#!/usr/bin/env python3
"""Runs the providers' official Python clients from PyPI against the BankSync sandbox.

Usage: official_clients.py --base-url http://127.0.0.1:PORT

- plaid-python: Configuration(host=<sandbox>/plaid); link_token_create,
  sandbox_public_token_create -> item_public_token_exchange -> item_get -> accounts_get ->
  accounts_balance_get -> transactions_sync paged until has_more is false, institutions_get_by_id,
  and one error (ApiException carrying a PlaidError body). The client deserializes every answer
  into its typed models, so a missing field, a wrong type or an unknown enum value fails here.
- nordigen: NordigenClient(base_url=<sandbox>/gocardless/api/v2); generate_token,
  exchange_token, institutions, initialize_session (agreement + requisition), an HTTP GET of the
  requisition link (the user consenting; the 302 is not followed), then per account the
  metadata, details, balances and transactions.

Exits 1 if any step raises or answers something a real integration could not use.
Calls the client makes to paths without the trailing slash (nordigen's get_institutions()
without a country, get_agreement_by_id, delete_agreement, delete_requisition) are reported as
WARN; set FIDELITY_STRICT_EXTRAS=1 to make them fail too.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import uuid
from pathlib import Path

sys.dont_write_bytecode = True  # keep the work tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fidelity_http import call  # noqa: E402

PLAID_INSTITUTION = "ins_109511"
GC_INSTITUTION = "SANDBOXFINANCE_SFIN0000"


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.warned = 0

    def ok(self, client: str, what: str) -> None:
        self.passed += 1
        print(f"OK   {client:<8} {what}")

    def fail(self, client: str, what: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL {client:<8} {what}: {why}")

    def warn(self, client: str, what: str, why: str) -> None:
        if os.environ.get("FIDELITY_STRICT_EXTRAS") == "1":
            self.fail(client, what, why)
            return
        self.warned += 1
        print(f"WARN {client:<8} {what}: {why}")


def describe(error: Exception) -> str:
    body = getattr(error, "body", None)
    status = getattr(error, "status", None)
    response = getattr(error, "response", None)
    if response is not None and hasattr(response, "status_code"):
        status = response.status_code
        body = response.text
    text = f"{type(error).__name__}"
    if status is not None:
        text += f" HTTP {status}"
    if body:
        text += f" body {str(body)[:300]}"
    else:
        text += f": {str(error)[:600]}"
    return text


def plaid_flow(base: str, results: Results) -> None:
    import plaid
    from plaid.api import plaid_api
    from plaid.model.accounts_balance_get_request import AccountsBalanceGetRequest
    from plaid.model.accounts_get_request import AccountsGetRequest
    from plaid.model.country_code import CountryCode
    from plaid.model.institutions_get_by_id_request import InstitutionsGetByIdRequest
    from plaid.model.item_get_request import ItemGetRequest
    from plaid.model.item_public_token_exchange_request import ItemPublicTokenExchangeRequest
    from plaid.model.link_token_create_request import LinkTokenCreateRequest
    from plaid.model.link_token_create_request_user import LinkTokenCreateRequestUser
    from plaid.model.products import Products
    from plaid.model.sandbox_public_token_create_request import SandboxPublicTokenCreateRequest
    from plaid.model.transactions_sync_request import TransactionsSyncRequest

    configuration = plaid.Configuration(
        host=f"{base}/plaid", api_key={"clientId": "sandbox-client-id", "secret": "sandbox-secret"}
    )
    client = plaid_api.PlaidApi(plaid.ApiClient(configuration))
    c = "plaid"

    step = stepper(results, c)

    try:
        step("link_token_create", lambda: client.link_token_create(LinkTokenCreateRequest(
            client_name="BankSync fidelity", language="en", country_codes=[CountryCode("US")],
            user=LinkTokenCreateRequestUser(client_user_id="fidelity-official"), products=[Products("transactions")])))
        public = step("sandbox_public_token_create", lambda: client.sandbox_public_token_create(SandboxPublicTokenCreateRequest(
            institution_id=PLAID_INSTITUTION, initial_products=[Products("transactions")])))
        exchanged = step("item_public_token_exchange", lambda: client.item_public_token_exchange(
            ItemPublicTokenExchangeRequest(public_token=public.public_token)))
        token = exchanged.access_token
        step("item_get", lambda: client.item_get(ItemGetRequest(access_token=token)))
        accounts = step("accounts_get", lambda: client.accounts_get(AccountsGetRequest(access_token=token))).accounts
        if not accounts:
            results.fail(c, "accounts_get", "no accounts on a freshly linked item")
        step("accounts_balance_get", lambda: client.accounts_balance_get(AccountsBalanceGetRequest(access_token=token)))
        step("institutions_get_by_id", lambda: client.institutions_get_by_id(InstitutionsGetByIdRequest(
            institution_id=PLAID_INSTITUTION, country_codes=[CountryCode("US")])))

        cursor, pages, added, modified, removed = "", 0, 0, 0, 0
        while True:
            page = step(f"transactions_sync page {pages + 1}", lambda: client.transactions_sync(
                TransactionsSyncRequest(access_token=token, cursor=cursor, count=100)))
            pages += 1
            added += len(page.added)
            modified += len(page.modified)
            removed += len(page.removed)
            cursor = page.next_cursor
            if not page.has_more:
                break
            if pages >= 100:
                results.fail(c, "transactions_sync", "has_more still true after 100 pages")
                break
        if added == 0:
            results.fail(c, "transactions_sync", "no transactions added on the first full sync")
        else:
            results.ok(c, f"transactions_sync done: {pages} pages, {added} added, {modified} modified, {removed} removed")

        # An error answer: the client must turn it into ApiException with Plaid's error body.
        try:
            client.accounts_get(AccountsGetRequest(access_token="access-sandbox-00000000-0000-0000-0000-000000000000"))
            results.fail(c, "accounts_get with an unknown token", "no error raised")
        except plaid.ApiException as error:
            import json

            code = json.loads(error.body).get("error_code")
            if error.status == 400 and code == "INVALID_ACCESS_TOKEN":
                results.ok(c, "accounts_get with an unknown token -> ApiException 400 INVALID_ACCESS_TOKEN")
            else:
                results.fail(c, "accounts_get with an unknown token", f"HTTP {error.status} error_code {code}")
    except StopFlow:
        pass


class StopFlow(Exception):
    pass


def stepper(results, client_name):
    """A function running one client step: records it, and stops the flow on failure."""
    def step(what, function):
        try:
            value = function()
        except Exception as error:  # noqa: BLE001 - any failure is a finding
            results.fail(client_name, what, describe(error))
            if os.environ.get("FIDELITY_DEBUG"):
                traceback.print_exc()
            raise StopFlow from error
        results.ok(client_name, what)
        return value
    return step


def nordigen_flow(base: str, results: Results) -> None:
    from nordigen import NordigenClient

    client = NordigenClient(
        secret_id="sandbox-secret-id", secret_key="sandbox-secret-key", base_url=f"{base}/gocardless/api/v2"
    )
    c = "nordigen"

    step = stepper(results, c)

    def extra(what, function):
        try:
            function()
        except Exception as error:  # noqa: BLE001
            results.warn(c, what, describe(error))
            return False
        results.ok(c, what)
        return True

    try:
        pair = step("generate_token", client.generate_token)
        refreshed = step("exchange_token", lambda: client.exchange_token(pair["refresh"]))
        # exchange_token returns a new access token but does not install it; do what apps do.
        client.token = refreshed["access"]
        institutions = step("institution.get_institutions('GB')", lambda: client.institution.get_institutions("GB"))
        if not any(i["id"] == GC_INSTITUTION for i in institutions):
            results.fail(c, "institution.get_institutions('GB')", f"{GC_INSTITUTION} missing from {[i['id'] for i in institutions]}")
        step(f"institution.get_institution_by_id({GC_INSTITUTION})", lambda: client.institution.get_institution_by_id(GC_INSTITUTION))
        reference = f"fidelity-{uuid.uuid4()}"
        session = step("initialize_session", lambda: client.initialize_session(
            institution_id=GC_INSTITUTION, redirect_uri="http://127.0.0.1/fidelity/back", reference_id=reference,
            max_historical_days=90, access_valid_for_days=90))

        # The user follows the link and consents; the bank sends them back to redirect?ref=.
        consent = call("GET", session.link)
        location = consent.headers.get("location", "")
        if consent.status in (301, 302, 303, 307) and location.startswith("http://127.0.0.1/fidelity/back") and f"ref={reference}" in location:
            results.ok(c, f"GET requisition link -> {consent.status} to the redirect with ref=")
        else:
            results.fail(c, "GET requisition link", f"HTTP {consent.status}, location {location!r}")

        requisition = step("requisition.get_requisition_by_id", lambda: client.requisition.get_requisition_by_id(session.requisition_id))
        if requisition.get("status") != "LN" or not requisition.get("accounts"):
            results.fail(c, "requisition after consent", f"status {requisition.get('status')}, accounts {requisition.get('accounts')}")
            raise StopFlow
        step("requisition.get_requisitions", client.requisition.get_requisitions)
        step("agreement.get_agreements", client.agreement.get_agreements)

        for account_id in requisition["accounts"]:
            account = client.account_api(account_id)
            short = account_id[:8]
            meta = step(f"account {short} get_metadata", account.get_metadata)
            if meta.get("status") != "READY":
                results.fail(c, f"account {short} get_metadata", f"status {meta.get('status')}")
            details = step(f"account {short} get_details", account.get_details)
            if "currency" not in details.get("account", {}):
                results.fail(c, f"account {short} get_details", "no account.currency")
            balances = step(f"account {short} get_balances", account.get_balances)
            if not balances.get("balances"):
                results.fail(c, f"account {short} get_balances", "no balances")
            transactions = step(f"account {short} get_transactions", account.get_transactions)
            booked = transactions.get("transactions", {}).get("booked")
            if not isinstance(booked, list) or not booked:
                results.fail(c, f"account {short} get_transactions", "no booked transactions")
            step(f"account {short} get_transactions(date_from, date_to)", lambda: account.get_transactions(date_from="2026-01-01", date_to="2026-03-01"))

        # Methods of the client that call paths without the trailing slash.
        extra("institution.get_institutions() (no country: GET institutions)", client.institution.get_institutions)
        agreement_id = requisition.get("agreement")
        extra("agreement.get_agreement_by_id (GET agreements/enduser/{id})", lambda: client.agreement.get_agreement_by_id(agreement_id))
        extra("requisition.delete_requisition (DELETE requisitions/{id})", lambda: client.requisition.delete_requisition(session.requisition_id))
    except StopFlow:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    results = Results()
    for flow in (plaid_flow, nordigen_flow):
        try:
            flow(base, results)
        except Exception as error:  # noqa: BLE001 - e.g. an import error
            results.fail(flow.__name__, "setup", describe(error))
    import importlib.metadata as md

    versions = ", ".join(f"{name} {md.version(name)}" for name in ("plaid-python", "nordigen"))
    print(f"official-clients: {versions}; {results.warned} warnings")
    print(f"official-clients: {results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
