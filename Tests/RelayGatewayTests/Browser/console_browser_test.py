#!/usr/bin/env python3
"""Drive the relay-gateway console page in headless Chromium, end to end.

    python3 console_browser_test.py --console http://127.0.0.1:8000/console \\
        --publish http://127.0.0.1:8000/publish --screenshot-dir /tmp/shots [--token SECRET] [--no-stats] \\
        [--spki BASE64 --cacert CA.pem]

The page registers user 7, connects, receives a message published with curl, changes its topics,
publishes from its own form, proves the old topic no longer arrives, and (unless --no-stats) shows
the gateway's stats. On TLS listeners (`https://` URLs), Chromium trusts the listener's key given
by --spki (base64 SHA-256 of its SubjectPublicKeyInfo), curl trusts --cacert, and the page's
WebSocket URL must be `wss://`. Every step prints `step: ...`; any failure prints the reason, saves
failure.png in the screenshot dir and exits 1. Success saves console.png and prints `ok`.
Needs: selenium 4, chromium + chromedriver, curl.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 15
CLIENT_URL = re.compile(r"^wss?://[^/\s]+/(?:\S*/)?[0-9a-f]{32}$")


class Failure(Exception):
    pass


def step(text):
    print(f"step: {text}", flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description="Browser test of the relay-gateway console page.")
    parser.add_argument("--console", required=True, help="URL of the console page")
    parser.add_argument("--publish", required=True, help="absolute URL of the publish route, for curl")
    parser.add_argument("--screenshot-dir", required=True, help="where console.png / failure.png go")
    parser.add_argument("--token", default="", help="bearer secret for the page and for curl")
    parser.add_argument("--no-stats", action="store_true", help="skip the stats checks (gateway without a stats route)")
    parser.add_argument("--spki", default="", help="TLS: base64 SHA-256 of the listener key's SubjectPublicKeyInfo, for Chromium")
    parser.add_argument("--cacert", default="", help="TLS: the CA certificate curl trusts")
    return parser.parse_args()


def make_driver(args):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    if args.spki:
        # Trusts exactly this key (the test CA is not in Chromium's store); anything else still fails.
        options.add_argument(f"--ignore-certificate-errors-spki-list={args.spki}")
    for binary in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(binary):
            options.binary_location = binary
            break
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else shutil.which("chromedriver")
    service = Service(driver_path) if driver_path else Service()
    return webdriver.Chrome(service=service, options=options)


def wait_for(driver, description, condition):
    """Waits up to TIMEOUT s for condition(driver) to be truthy; returns its value."""
    try:
        # The page re-renders its tables as stats arrive: an element read mid-render is retried.
        return WebDriverWait(
            driver, TIMEOUT, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition)
    except TimeoutException:
        raise Failure(f"timed out after {TIMEOUT} s waiting for {description}") from None


def text_of(driver, element_id):
    return driver.find_element(By.ID, element_id).text.strip()


def fill(driver, element_id, value):
    element = wait_for(driver, f"#{element_id} to be visible", EC.visibility_of_element_located((By.ID, element_id)))
    element.clear()
    element.send_keys(value)


def click(driver, element_id):
    wait_for(driver, f"#{element_id} to be clickable", EC.element_to_be_clickable((By.ID, element_id))).click()


def messages(driver):
    return [element.get_attribute("textContent") for element in driver.find_elements(By.CSS_SELECTOR, "#messages .message")]


def has_message(payload):
    return lambda driver: any(payload in text for text in messages(driver))


def curl_publish(args, topic, message):
    body = json.dumps({"topic": topic, "message": message})
    command = ["curl", "-sS", "-f", "--max-time", "10", "-X", "POST", args.publish,
               "-H", "Content-Type: application/json", "-d", body]
    if args.token:
        command[-2:-2] = ["-H", f"Authorization: Bearer {args.token}"]
    if args.cacert:
        command[1:1] = ["--cacert", args.cacert]
    done = subprocess.run(command, capture_output=True, text=True, timeout=15)
    if done.returncode != 0:
        raise Failure(f"curl publish to {args.publish} failed (exit {done.returncode}): {done.stderr.strip()}")
    try:
        return json.loads(done.stdout)["recipients"]
    except (ValueError, KeyError):
        raise Failure(f"curl publish: unexpected answer {done.stdout!r}") from None


def severe_browser_errors(driver, no_stats):
    try:
        entries = driver.get_log("browser")
    except WebDriverException:
        return []
    bad = []
    for entry in entries:
        message = entry.get("message", "")
        if entry.get("level") != "SEVERE" or "favicon" in message:
            continue
        if (no_stats and "/stats" in message) or "status of 429" in message:
            continue  # a rate-limited poll is handled by the page (it waits for Retry-After)
        if "/stats" in message and "status of 401" in message:
            continue  # stats polled before the token was typed in: the page says it needs a token
        bad.append(message)
    return bad


def page_errors(driver, no_stats):
    texts = [li.get_attribute("textContent") for li in driver.find_elements(By.CSS_SELECTOR, "#error li")]
    return [text for text in texts if not (no_stats and "stats" in text) and ": 429 " not in text]


def run(driver, args):
    nonce = secrets.token_hex(4)

    step(f"open {args.console}")
    driver.get(args.console)
    if args.console.startswith("https://") and not driver.current_url.startswith("https://"):
        raise Failure(f"Chromium did not stay on https: {driver.current_url}")
    wait_for(driver, "#state to read disconnected", lambda d: text_of(d, "state") == "disconnected")

    if args.token:
        step("fill the token")
        fill(driver, "token", args.token)

    step("register user 7")
    fill(driver, "user-id", "7")
    click(driver, "register")
    url = wait_for(driver, "#client-url to show ws://.../<32 hex>",
                   lambda d: (lambda v: v if CLIENT_URL.match(v) else False)(
                       (d.find_element(By.ID, "client-url").get_property("value") or d.find_element(By.ID, "client-url").text).strip()))
    if args.token and args.token in url:
        raise Failure("the page shows the token in the client URL")
    if args.console.startswith("https://") and not url.startswith("wss://"):
        raise Failure(f"the console is served over TLS but its client URL is not wss://: {url}")
    print(f"  client url: {url[:-24]}…")

    step("connect")
    click(driver, "connect")
    wait_for(driver, "#state == connected", lambda d: text_of(d, "state") == "connected")

    curl_message = f"hello-from-curl-{nonce}"
    step(f"curl publish to cats: {curl_message}")
    recipients = curl_publish(args, "cats", curl_message)
    print(f"  recipients: {recipients}")
    wait_for(driver, f"{curl_message} in #messages", has_message(curl_message))

    step("set topics to dogs")
    fill(driver, "topics", "dogs")
    click(driver, "set-topics")
    # Frames are handled in order: once our ping is answered, the topics frame before it is applied.
    count = sum(1 for text in messages(driver) if text.endswith("pong"))
    click(driver, "ping")
    wait_for(driver, "pong after the topics frame",
             lambda d: sum(1 for text in messages(d) if text.endswith("pong")) > count)
    topics = driver.execute_script("return document.body.dataset.topics")
    if topics is not None and json.loads(topics) != ["dogs"]:
        raise Failure(f"document.body.dataset.topics is {topics!r}, expected [\"dogs\"]")

    page_message = f"hello-from-page-{nonce}"
    step(f"publish from the page to dogs: {page_message}")
    fill(driver, "publish-topic", "dogs")
    fill(driver, "publish-user", "")
    fill(driver, "publish-message", page_message)
    click(driver, "publish")
    wait_for(driver, f"{page_message} in #messages", has_message(page_message))
    result = wait_for(driver, "#publish-result to mention 1 recipient",
                      lambda d: (lambda t: t if re.search(r"\b1 recipient", t) else False)(text_of(d, "publish-result")))
    print(f"  publish result: {result}")

    stale = f"hello-cats-after-topic-change-{nonce}"
    step(f"curl publish to cats must not arrive: {stale}")
    recipients = curl_publish(args, "cats", stale)
    print(f"  recipients: {recipients}")
    # Messages arrive in order: once a later one to dogs is shown, the one to cats would have been.
    marker = f"hello-dogs-after-cats-{nonce}"
    curl_publish(args, "dogs", marker)
    wait_for(driver, f"{marker} in #messages", has_message(marker))
    if has_message(stale)(driver):
        raise Failure("a message for cats arrived after the topics were changed to dogs")

    if not args.no_stats:
        step("wait for #stat-connections >= 1")
        wait_for(driver, "#stat-connections >= 1",
                 lambda d: (lambda t: t.isdigit() and int(t) >= 1)(text_of(d, "stat-connections")))
        step("wait for dogs in #stat-topics")

        def dogs_row(d):
            for row in d.find_elements(By.CSS_SELECTOR, "#stat-topics tr"):
                cells = [cell.text.strip() for cell in row.find_elements(By.TAG_NAME, "td")]
                if len(cells) >= 2 and cells[0] == "dogs" and cells[1].isdigit() and int(cells[1]) >= 1:
                    return True
            return False

        wait_for(driver, "a dogs row with >= 1 subscriber in #stat-topics", dogs_row)
        print(f"  stats: connections {text_of(driver, 'stat-connections')}, registrations "
              f"{text_of(driver, 'stat-registrations')}, {text_of(driver, 'stats-state')}")

    step("disconnect, then subscribe again through EventSource")
    click(driver, "disconnect")
    wait_for(driver, "#state == disconnected", lambda d: text_of(d, "state") == "disconnected")
    click(driver, "use-sse")
    click(driver, "connect")
    wait_for(driver, "#state == connected (EventSource)", lambda d: text_of(d, "state") == "connected")
    if "EventSource" not in text_of(driver, "close-info"):
        raise Failure(f"#close-info should say EventSource: {text_of(driver, 'close-info')!r}")
    sse_message = f"hello-dogs-over-sse-{nonce}"
    step(f"curl publish to dogs: {sse_message}")
    recipients = curl_publish(args, "dogs", sse_message)
    print(f"  recipients: {recipients}")
    wait_for(driver, f"{sse_message} in #messages", has_message(sse_message))

    step("no errors on the page or in the browser console")
    if text_of(driver, "state") != "connected":
        raise Failure(f"#state is {text_of(driver, 'state')!r} at the end, expected connected")
    errors = page_errors(driver, args.no_stats)
    if errors:
        raise Failure("the page shows errors: " + " | ".join(errors))
    severe = severe_browser_errors(driver, args.no_stats)
    if severe:
        raise Failure("browser console errors: " + " | ".join(severe))

    step("screenshot")
    path = os.path.join(args.screenshot_dir, "console.png")
    if not driver.save_screenshot(path):
        raise Failure(f"could not save {path}")
    print(f"  saved {path}")


def main():
    args = parse_args()
    os.makedirs(args.screenshot_dir, exist_ok=True)
    if shutil.which("curl") is None:
        print("FAIL: curl is not installed", file=sys.stderr)
        return 1
    try:
        driver = make_driver(args)
    except WebDriverException as error:
        print(f"FAIL: cannot start headless Chromium: {error.msg}", file=sys.stderr)
        return 1
    try:
        run(driver, args)
    except (Failure, WebDriverException, subprocess.TimeoutExpired) as error:
        reason = error.msg if isinstance(error, WebDriverException) else str(error)
        print(f"FAIL: {reason}", file=sys.stderr)
        try:
            path = os.path.join(args.screenshot_dir, "failure.png")
            driver.save_screenshot(path)
            print(f"  state: {text_of(driver, 'state')!r}, errors on page: {page_errors(driver, False)}", file=sys.stderr)
            for message in severe_browser_errors(driver, False):
                print(f"  browser: {message}", file=sys.stderr)
            print(f"  saved {path}", file=sys.stderr)
        except WebDriverException as secondary:
            print(f"  (could not capture the failure: {secondary.msg})", file=sys.stderr)
        return 1
    finally:
        driver.quit()
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
