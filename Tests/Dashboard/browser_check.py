#!/usr/bin/env python3
"""Renders the dashboard's main pages in headless Chromium and checks they show the seeded data.

Starts `banksync demo --days 1` (embedded SQLite, the sandbox banks, one connection per
provider, a simulated day), signs in with the API key it prints, then visits the connections,
an account (with its balance chart), the transactions (and edits one category through the
inline editor), the jobs and the activity pages. Each check names what it expected; with
--screenshots DIR each page is saved as a PNG (docs/ holds the README's).

Needs: chromium and chromium-driver (Debian packages), selenium (PyPI).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait
from selenium.webdriver.common.by import By

failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


def start_demo(binary, workdir):
    process = subprocess.Popen(
        [binary, "demo", "--port", "0", "--days", "1", "--database", os.path.join(workdir, "demo.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir)
    lines = []
    deadline = time.time() + 600
    base = key = None
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        match = re.search(r"dashboard:\s+(http://[0-9.:]+)/dashboard\s+\(sign in with the API key (bsk_\S+)\)", line)
        if match:
            base, key = match.group(1), match.group(2)
            break
    if not base:
        print("".join(lines))
        process.kill()
        raise SystemExit("the demo did not start serving")
    return process, base, key


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/banksync")
    parser.add_argument("--screenshots", help="directory for PNG screenshots")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="banksync-browser-")
    demo, base, key = start_demo(os.path.abspath(args.binary), workdir)
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"]:
        options.add_argument(flag)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        options.binary_location = chromium
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    browser.set_page_load_timeout(60)

    def eventually(condition, timeout=15):
        """Whether `condition` holds within `timeout` seconds: the answer to a form post may
        land after click() returns, so a check right after a click waits for it rather than
        read the page that was still showing."""
        try:
            WebDriverWait(browser, timeout).until(lambda _: condition())
            return True
        except Exception:
            return False

    def shot(name):
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            height = browser.execute_script("return Math.min(document.body.scrollHeight, 2400)")
            browser.set_window_size(1280, max(600, height))
            browser.save_screenshot(os.path.join(args.screenshots, name))
            browser.set_window_size(1280, 1000)

    try:
        # Signed out, every page sends you to the sign-in form; a wrong key is refused.
        browser.get(base + "/dashboard/jobs")
        check(browser.current_url.endswith("/dashboard/login"), "an anonymous visit lands on the sign-in page")
        browser.find_element(By.NAME, "key").send_keys("bsk_not-a-key")
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        check(eventually(lambda: "not a live API key" in browser.page_source), "a wrong key is refused with a message")
        browser.find_element(By.NAME, "key").send_keys(key)
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

        # Connections.
        check(eventually(lambda: browser.current_url.rstrip("/").endswith("/dashboard")), "signing in opens the connections page")
        rows = browser.find_elements(By.CSS_SELECTOR, "#connections tr")
        text = browser.find_element(By.ID, "connections").text
        for provider in ["plaid", "teller", "gocardless"]:
            check(provider in text, f"the {provider} connection is listed")
        check(text.count("connected") >= 3, "all three connections are connected")
        check(len(browser.find_elements(By.XPATH, "//button[text()='Sync now']")) == 3, "each connection has a 'Sync now' button")
        check(len(browser.find_elements(By.CSS_SELECTOR, "#connections a[href^='/dashboard/accounts/']")) >= 10, "the accounts are listed under them")
        shot("dashboard-connections.png")
        browser.find_element(By.XPATH, "//button[text()='Sync now']").click()
        check(eventually(lambda: "Sync requested" in browser.page_source), "'Sync now' requests a sync and says so")

        # An account and its chart.
        browser.find_element(By.XPATH, "//table[@id='connections']//a[starts-with(@href, '/dashboard/accounts/') and contains(., 'Checking')]").click()
        points = browser.find_element(By.CSS_SELECTOR, "#balance-chart polyline").get_attribute("points") or ""
        check(len(points.split()) >= 2, f"the balance chart draws a line ({len(points.split())} points)")
        check(len(browser.find_elements(By.CSS_SELECTOR, "#account-transactions tr")) > 5, "the account's latest transactions are shown")
        shot("dashboard-account.png")

        # Transactions, and the inline category editor.
        browser.get(base + "/dashboard/transactions")
        rows = browser.find_elements(By.CSS_SELECTOR, "#transactions tr")
        check(len(rows) > 20, f"the transactions page lists rows ({len(rows) - 1})")
        table = browser.find_element(By.ID, "transactions").text
        check(re.search(r"\b0\.\d\d\b|\b1\.00\b", table) is not None, "rows show a confidence")
        check("model" in table or "provider" in table, "rows show where their category came from")
        shot("dashboard-transactions.png")
        editor = browser.find_element(By.CSS_SELECTOR, "#transactions input[name=category]")
        editor.send_keys("ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS")
        editor.find_element(By.XPATH, "following-sibling::button").click()
        check(eventually(lambda: "is now ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS" in browser.page_source), "the inline editor saves a category")
        check("user" in browser.find_element(By.ID, "transactions").text, "the edited row shows the user as its source")

        # Jobs.
        browser.get(base + "/dashboard/jobs")
        counts = browser.find_element(By.ID, "job-counts").text
        for name in ["connection-setup", "initial-sync", "sync-transactions"]:
            check(name in counts, f"the jobs page counts {name}")
        shot("dashboard-jobs.png")

        # Notifications and webhook deliveries.
        browser.get(base + "/dashboard/activity")
        activity = browser.page_source
        check("accounts.added" in activity and "sync.completed" in activity, "the notifications are listed")
        check("/sandbox/inbox" in activity and "delivered" in activity, "the webhook endpoint and its delivered deliveries are shown")
        shot("dashboard-activity.png")
    finally:
        browser.quit()
        demo.terminate()
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("the dashboard shows the seeded data")


if __name__ == "__main__":
    main()
