"""The web console in headless Chromium, driven by Selenium: scripts/console-e2e.sh starts a real
server on a throwaway PostgreSQL and runs this. Every step of issue 18 in order, each ending with
a screenshot in --results and a check of the browser's console log: any SEVERE entry fails the
run, except the network errors Chromium logs for the 4xx answers a step provokes on purpose (the
400 of an invalid create, the 412 of a stale edit), each allowed only in its own step.
"""
import argparse
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

args = argparse.ArgumentParser()
args.add_argument("--base", required=True)
args.add_argument("--admin-key", required=True)
args.add_argument("--bin", required=True)
args.add_argument("--kinds-dir", required=True)
args.add_argument("--server-pid", type=int, required=True)
args.add_argument("--results", required=True)
args.add_argument("--work", required=True)
opts = args.parse_args()
BASE = opts.base.rstrip("/")
KEY = opts.admin_key


# ---- the API, for setting the scene and checking what the console did ----------------------

def api(method, path, body=None, headers=None, key=True):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        h["Authorization"] = f"Bearer {KEY}"
    h.update(headers or {})
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


def create(record):
    status, _, body = api("POST", "/api/audio/create", record)
    assert status == 201, (status, body)
    return body


# ---- the browser ----------------------------------------------------------------------------

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
             "--window-size=1280,900", "--disable-gpu", "--mute-audio"):
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
wait = WebDriverWait(driver, 20)
step_number = 0
failures = []


def by_css(selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def wait_css(selector, visible=True):
    condition = EC.visibility_of_element_located if visible else EC.presence_of_element_located
    return wait.until(condition((By.CSS_SELECTOR, selector)))


def js_text(selector):
    """An element's text read by script ('' when absent): never a stale reference."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", selector)


def wait_text(selector, pattern):
    regex = re.compile(pattern)
    def found(_):
        try:
            return regex.search(by_css(selector).text)
        except Exception:
            return False
    try:
        return wait.until(found)
    except TimeoutException:
        try:
            shown = by_css(selector).text
        except Exception:
            shown = "(no such element)"
        raise AssertionError(f"{selector} never matched /{pattern}/; it shows: {shown!r}")


def page_title():
    """The page heading's text ('' while a page renders); read by script, so never stale."""
    return driver.execute_script("const t = document.getElementById('page-title'); return t ? t.textContent : ''")


def wait_title(expected):
    try:
        wait.until(lambda _: page_title() == expected if isinstance(expected, str) else expected(page_title()))
    except TimeoutException:
        raise AssertionError(f"the page title never became {expected!r}; it is {page_title()!r}")


def navigating(action):
    """Runs action (a click that navigates) and waits until the page was rendered again."""
    driver.execute_script("const t = document.getElementById('page-title'); if (t) t.dataset.old = '1'")
    action()
    wait.until(lambda d: d.execute_script("const t = document.getElementById('page-title'); return !!t && !t.dataset.old"))


def open_hash(fragment):
    driver.get(f"{BASE}/console/#{fragment}")


def unlabelled_inputs():
    """Inputs, selects and text areas with neither a <label> nor an aria-label: must be none."""
    return driver.execute_script("""
        return [...document.querySelectorAll('input, select, textarea')]
          .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
          .map(el => el.outerHTML.slice(0, 120));""")


def step(name, allowed_network=()):
    """Runs the decorated function as step NAME, then a screenshot, the label check and the log check."""
    def run(fn):
        global step_number
        step_number += 1
        label = f"{step_number:02d}-{name}"
        started = time.time()
        try:
            fn()
        except Exception:
            driver.save_screenshot(os.path.join(opts.results, f"{label}-FAILED.png"))
            print(f"FAIL {label}", flush=True)
            raise
        driver.save_screenshot(os.path.join(opts.results, f"{label}.png"))
        shown = driver.execute_script("return document.body.innerText")
        leaked = re.findall(r"\bnull\b|\bundefined\b|\bNaN\b|\[object Object\]", shown)
        assert not leaked, f"{label}: the page shows {leaked}"
        missing = unlabelled_inputs()
        assert not missing, f"{label}: inputs without a label: {missing}"
        severe = []
        for entry in driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            message = entry["message"]
            if entry.get("source") == "network" and any(path in message and f"status of {code}" in message for path, code in allowed_network):
                continue
            severe.append(message)
        assert not severe, f"{label}: browser console errors: {severe}"
        print(f"ok   {label} ({time.time() - started:.1f} s)", flush=True)
        return fn
    return run


def full_page(name, width=1100):
    """A screenshot of the whole page (the window made as tall as the page), then the old size back."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height + 120, 600), 4000))
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.2)
    driver.save_screenshot(os.path.join(opts.results, f"{name}.png"))
    driver.set_window_size(size["width"], size["height"])


def performance_requests():
    """(url, request headers, status) of every network response seen since the last call."""
    requests, statuses = {}, {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            requests[params["requestId"]] = (params["request"]["url"], params["request"].get("headers", {}))
        elif message["method"] == "Network.requestWillBeSentExtraInfo":
            url, headers = requests.get(params["requestId"], ("", {}))
            requests[params["requestId"]] = (url, {**headers, **params.get("headers", {})})
        elif message["method"] == "Network.responseReceived":
            statuses[params["requestId"]] = params["response"]["status"]
            if params["requestId"] not in requests:
                requests[params["requestId"]] = (params["response"]["url"], params["response"].get("requestHeaders", {}) or {})
    return [(url, headers, statuses.get(rid)) for rid, (url, headers) in requests.items()]


def wav_bytes(seconds, rate=44100, channels=2):
    """A 441 Hz sine (exactly 100 samples a period at 44.1 kHz), 16-bit PCM."""
    period = b"".join(int(8000 * math.sin(2 * math.pi * i / 100)).to_bytes(2, "little", signed=True) * channels for i in range(100))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(period * (seconds * rate // 100))
    return buffer.getvalue()


state = {}

try:
    # 1. No key: `/` redirects to the console, which lists the public kinds with their record counts.
    @step("public-kinds")
    def _():
        create({"filetype": "song", "name": "Already here", "duration": 61})
        driver.get(BASE + "/")
        wait.until(lambda d: "/console/" in d.current_url)
        wait_title("Kinds")
        cards = driver.find_elements(By.CSS_SELECTOR, "#kinds .card")
        names = [c.get_attribute("data-kind") for c in cards]
        assert names == ["audio_book", "podcast", "song"], names
        assert "Not signed in" in by_css("#whoami").text
        song = by_css('#kinds .card[data-kind="song"]')
        wait.until(lambda _: "1 record" in js_text('#kinds .card[data-kind="song"] .record-count'))
        assert "A music track." in song.text and "2 fields" in song.text and "read: public" in song.text, song.text
        # Without a key nothing offers to write.
        assert not driver.find_elements(By.PARTIAL_LINK_TEXT, "New "), "a create link is shown without a key"

    # 2. Sign in with the keyboard alone: Tab to the link, Enter, type the key, Enter.
    @step("sign-in")
    def _():
        driver.execute_script("document.activeElement && document.activeElement.blur()")
        for _ in range(12):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            if driver.switch_to.active_element.get_attribute("id") == "sign-in-link":
                break
        assert driver.switch_to.active_element.get_attribute("id") == "sign-in-link", "Tab never reached the sign-in link"
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        wait_title("Sign in")
        wait.until(lambda d: d.switch_to.active_element.get_attribute("id") == "api-key")
        driver.switch_to.active_element.send_keys(KEY + Keys.ENTER)
        wait_text("#whoami", r"console-admin.*admin")
        wait_title("Kinds")
        assert driver.execute_script("return sessionStorage.getItem('audio-console-key')") == KEY
        assert driver.execute_script("return localStorage.length") == 0, "the key must not outlive the session"
        wait_css('a[href="#/keys"]')
        wait_css('a[href="#/kinds/podcast/new"]')

    # 3. The three shipped kinds: each kind page lists its fields with types and constraints.
    @step("kind-pages")
    def _():
        status, _, kinds = api("GET", "/api/kinds", key=False)
        for kind in kinds["kinds"]:
            open_hash(f"/kinds/{kind['name']}")
            wait_title(f"Kind {kind['name']}")
            rows = driver.find_elements(By.CSS_SELECTOR, "#fields tbody tr")
            assert len(rows) == len(kind["fields"]), (kind["name"], len(rows))
        open_hash("/kinds/podcast")
        wait_title("Kind podcast")
        table = by_css("#fields").text
        assert "list of string" in table and "0–10 items" in table, table
        assert "1–100 characters" in table and "1 to 2147483647" in table, table

    # 4. A podcast with 11 participants: the server's error appears beside the eleventh.
    @step("eleven-participants", allowed_network=[("/api/audio/create", 400)])
    def _():
        open_hash("/kinds/podcast/new")
        wait_title("New podcast")
        assert by_css("#field-name").get_attribute("maxlength") == "100"
        assert by_css("#field-duration").get_attribute("min") == "1"
        assert by_css("#field-name").get_attribute("required") is not None
        by_css("#field-name").send_keys("Episode 11")
        by_css("#field-duration").send_keys("1800")
        by_css("#field-host").send_keys("Joe")
        for i in range(11):
            by_css("#field-participants-add").click()
            driver.switch_to.active_element.send_keys(f"Guest {i + 1}")
        by_css("#save").click()
        eleventh = wait_css('#field-participants .list-item[data-index="10"] .item-error')
        assert "over the limit of 10" in eleventh.text, eleventh.text
        # Focus is on the eleventh item, where the fix is.
        assert driver.switch_to.active_element.get_attribute("id") == "field-participants-10"
        assert not driver.find_elements(By.CSS_SELECTOR, '#field-participants .list-item[data-index="9"].has-error')
        field_error = by_css("#field-participants-error").text
        assert "at most 10 items" in field_error, field_error
        assert "at most 10 items" in by_css("#form-status .problem").text
        full_page("04-eleven-participants-full")

    # 5. Fix it (remove the eleventh) and save: the record page opens.
    @step("fixed-and-saved")
    def _():
        by_css('#field-participants .list-item[data-index="10"] button').click()
        by_css("#save").click()
        wait_text(".notice", r"Created podcast \d+")
        state["podcast"] = int(re.search(r"#/kinds/podcast/records/(\d+)", driver.current_url).group(1))
        status, _, record = api("GET", f"/api/audio/podcast/{state['podcast']}")
        assert record["participants"] == [f"Guest {i + 1}" for i in range(10)], record

    # 6. Filter and sort the table; the URL holds the query; reloading it shows the same rows.
    @step("filter-sort-reload")
    def _():
        for i, (name, duration, host) in enumerate([("Ep alpha", 120, "Ann"), ("Ep beta", 300, "Bo"), ("Ep gamma", 900, "Ann"),
                                                    ("Other", 600, "Ann"), ("Ep delta", 60, "Bo")]):
            create({"filetype": "podcast", "name": name, "duration": duration, "host": host})
        open_hash("/kinds/podcast/records")
        wait_title("podcast records")
        wait_text("#list-status", r"shown")
        by_css('#filter-name-contains').send_keys("ep")
        by_css('#filter-duration-gte').send_keys("100")
        navigating(lambda: by_css("#apply-filters").click())
        wait.until(lambda d: "duration[gte]=100" in d.current_url)
        wait_text("#list-status", r"shown")
        navigating(lambda: by_css('th button[data-sort="duration"]').click())
        wait.until(lambda d: "sort=duration" in d.current_url)
        wait_text("#list-status", r"shown")
        navigating(lambda: by_css('th button[data-sort="duration"]').click())
        wait.until(lambda d: "sort=-duration" in d.current_url)
        wait_text("#list-status", r"shown")

        def names():
            return [td.text for td in driver.find_elements(By.CSS_SELECTOR, '#records tbody td[data-field="name"]')]
        expected = ["Episode 11", "Ep gamma", "Ep beta", "Ep alpha"]
        assert names() == expected, names()
        assert by_css('th[aria-sort="descending"] button').get_attribute("data-sort") == "duration"
        url = driver.current_url
        driver.refresh()
        wait_text("#list-status", r"shown")
        assert names() == expected, ("after reload", names())
        assert by_css('#filter-duration-gte').get_attribute("value") == "100"
        # The same view opened from the bookmark in a fresh page, with the exact count on request.
        driver.get("about:blank")
        driver.get(url)
        wait_text("#list-status", r"shown")
        assert names() == expected
        navigating(lambda: by_css("#count").click())
        wait_text("#total", r"^4 matching$")
        # Keyset "load more": two at a time.
        driver.get(url + "&limit=2")
        wait_text("#list-status", r"2 shown")
        by_css("#load-more").click()
        wait_text("#list-status", r"4 shown")
        assert names() == expected, names()
        state["list-url"] = url
        full_page("06-filter-sort-reload-full")

    # 7. Upload a WAV: the progress reaches 100 % and the probed duration appears.
    @step("upload")
    def _():
        song = create({"filetype": "song", "name": "Tone", "duration": 60})
        state["song"] = song["id"]
        path = os.path.join(opts.work, "tone-60s.wav")
        with open(path, "wb") as out:
            out.write(wav_bytes(60))
        state["wav-size"] = os.path.getsize(path)
        open_hash(f"/kinds/song/records/{song['id']}")
        wait_title(lambda t: t.startswith(f"song {song['id']}"))
        # Record every progress text the page shows.
        driver.execute_script("""
            window.__progress = [];
            new MutationObserver(() => window.__progress.push(document.getElementById('upload-progress-text').textContent))
              .observe(document.getElementById('upload-progress-text'), {childList: true, characterData: true, subtree: true});""")
        # First at 2 MB/s (Chromium's network emulation): progress is seen in steps; cancel at once past 10 %.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 2_000_000})
        by_css("#file-input").send_keys(path)
        wait.until(lambda _: (lambda m: m and 10 <= int(m.group(1)) < 100)(re.search(r"\((\d+) %\)", js_text("#upload-progress-text"))))
        by_css("#upload-cancel").click()
        wait_text("#upload-progress-text", r"cancelled")
        status, _, record = api("GET", f"/api/audio/song/{song['id']}")
        assert record["file"] is None, record
        cancelled_at = [t for t in driver.execute_script("return window.__progress") if "%" in t]
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 8_000_000})
        driver.execute_script("window.__progress = []")
        by_css("#file-input").send_keys(path)
        wait_text("#upload-progress-text", r"\(100 %\)")
        wait_text('#probe dd[data-probe="duration"]', r"60(\.0+)? s\)")
        assert by_css("#upload-progress").get_attribute("value") == "100"
        texts = driver.execute_script("return window.__progress")
        percents = [int(m.group(1)) for t in texts for m in [re.search(r"\((\d+) %\)", t)] if m]
        assert percents and percents[-1] == 100 and percents == sorted(percents), texts
        assert len(set(percents)) >= 3, ("progress was not seen in steps", texts)
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        state["progress"] = (cancelled_at[-1:], sorted(set(percents)))
        assert by_css('#probe dd[data-probe="format"]').text == "wav"
        assert by_css('#probe dd[data-probe="sample-rate"]').text == "44100 Hz"
        assert by_css('#probe dd[data-probe="channels"]').text == "2"
        status, _, record = api("GET", f"/api/audio/song/{song['id']}")
        assert record["file"]["size"] == state["wav-size"], record
        driver.execute_script("document.getElementById('file-heading').scrollIntoView()")

    # 8. Play it and seek to the middle: a ranged request (206) and currentTime moved.
    @step("play-and-seek")
    def _():
        performance_requests()  # forget what came before
        player = wait_css("#player")
        src = player.get_attribute("src")
        assert "/file?expires=" in src and "signature=" in src, src  # song downloads are signed
        download = by_css("#download")
        assert download.get_attribute("download") == "tone-60s.wav", download.get_attribute("download")
        wait.until(lambda d: d.execute_script("return arguments[0].readyState >= 1 && arguments[0].duration > 0", player))
        duration = driver.execute_script("return arguments[0].duration", player)
        assert abs(duration - 60) < 0.1, duration
        driver.execute_script("""
            const a = arguments[0]; window.__seeked = false;
            a.addEventListener('seeked', () => { window.__seeked = true; }, {once: true});
            a.currentTime = a.duration / 2;""", player)
        wait.until(lambda d: d.execute_script("return window.__seeked"))
        driver.execute_script("arguments[0].play()", player)
        wait.until(lambda d: d.execute_script("return arguments[0].currentTime > 30.3", player))
        position = driver.execute_script("return arguments[0].currentTime", player)
        assert 30 < position < 40, position
        ranged = []
        for url, headers, status in performance_requests():
            range_header = next((v for k, v in headers.items() if k.lower() == "range"), None)
            if "/api/audio/song/" in url and "/file" in url and range_header:
                ranged.append((range_header, status))
        assert any(status == 206 and re.match(r"bytes=([1-9]\d*)-", r) for r, status in ranged), ranged
        driver.execute_script("arguments[0].pause()", player)
        state["ranged"] = ranged
        # Dropping a file on the drop zone uploads it too (the file: the one just played, as a File).
        driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(document.getElementById('download').href).then(r => r.blob()).then(blob => {
              const data = new DataTransfer();
              data.items.add(new File([blob], 'dropped.wav', {type: 'audio/wav'}));
              document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
              done();
            });""")
        wait_text("#upload-result", r"Uploaded dropped\.wav")
        status, _, record = api("GET", f"/api/audio/song/{state['song']}")
        assert record["file"]["original_name"] == "dropped.wav", record["file"]

    # 9. Edit with a stale tag: someone else changes the record meanwhile; the console shows the
    #    conflict, and overwriting keeps both changes' fields as sent.
    @step("stale-edit", allowed_network=[(f"/api/audio/podcast/", 412)])
    def _():
        podcast = state["podcast"]
        open_hash(f"/kinds/podcast/records/{podcast}")
        wait_title(lambda t: t.startswith(f"podcast {podcast}"))
        status, _, _ = api("PATCH", f"/api/audio/podcast/{podcast}", {"host": "Someone else"})
        assert status == 200
        name = by_css("#field-name")
        name.clear()
        name.send_keys("Episode 11 (edited)")
        by_css("#save").click()
        conflict = wait_css("#conflict")
        assert "412" in conflict.text and "Someone else" in conflict.text and "Episode 11 (edited)" in conflict.text, conflict.text
        assert driver.switch_to.active_element.get_attribute("id") == "conflict-reload"
        driver.save_screenshot(os.path.join(opts.results, f"{step_number:02d}-stale-edit-conflict.png"))
        by_css("#conflict-overwrite").click()
        # The notice names the record as saved, with the name just given (it showed the old one).
        wait_text(".notice", r"Saved podcast .*Episode 11 \(edited\).* over the other change")
        status, _, record = api("GET", f"/api/audio/podcast/{podcast}")
        assert record["name"] == "Episode 11 (edited)" and record["host"] == "Someone else", record

    # 10. Delete, after a confirmation that names the record.
    @step("delete")
    def _():
        podcast = state["podcast"]
        # With the keyboard: Enter opens the dialog with focus on "Keep it", Escape closes it.
        driver.execute_script("document.getElementById('delete').focus()")
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        wait.until(lambda d: d.execute_script("return document.getElementById('delete-dialog').open"))
        assert driver.switch_to.active_element.get_attribute("id") == "delete-cancel"
        driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait.until(lambda d: not d.execute_script("return document.getElementById('delete-dialog').open"))
        by_css("#delete").click()
        question = wait_css("#delete-question").text
        assert f"podcast {podcast}" in question and "Episode 11 (edited)" in question, question
        by_css("#delete-confirm").click()
        wait_text("#flash", rf"Deleted podcast {podcast}")
        status, _, _ = api("GET", f"/api/audio/podcast/{podcast}")
        assert status == 404, status

    # 11. Keys (admin): create one, its secret shown once with a copy button; revoke it.
    @step("keys")
    def _():
        open_hash("/keys")
        wait_title("Keys")
        by_css("#key-name").send_keys("player")
        by_css("#key-scopes").send_keys("read:song read:podcast")
        by_css("#create-key").click()
        secret = wait_css("#key-secret").text
        assert re.fullmatch(r"afs_[A-Za-z0-9_-]{43}", secret), secret
        assert by_css("#copy-secret").is_displayed()
        row = wait_css('#keys tr[data-key="player"]')
        assert "read:song, read:podcast" in row.text, row.text
        status, _, who = api("GET", "/api/key", headers={"Authorization": f"Bearer {secret}"}, key=False)
        assert who["key"]["scopes"] == ["read:song", "read:podcast"], who
        driver.save_screenshot(os.path.join(opts.results, f"{step_number:02d}-keys-created.png"))
        revoke = by_css('#keys tr[data-key="player"] button[data-revoke="player"]')
        revoke.click()
        wait.until(lambda _: "Confirm" in js_text('button[data-revoke="player"]'))
        by_css('button[data-revoke="player"]').click()
        wait.until(lambda _: js_text('button[data-revoke="player"]') == "Revoked")
        status, _, _ = api("GET", "/api/key", headers={"Authorization": f"Bearer {secret}"}, key=False)
        assert status == 401, status
        state["reader-secret"] = secret

    # 12. The audit trail, filtered by action.
    @step("audit")
    def _():
        open_hash("/audit")
        wait_title("Audit trail")
        Select(by_css("#audit-action")).select_by_value("delete")
        by_css("#audit-filters button[type=submit]").click()
        wait.until(lambda d: "action=delete" in d.current_url)
        wait_text("#audit tbody", rf"console-admin\s+delete\s+podcast\s+{state['podcast']}")
        rows = driver.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
        assert all(" delete " in f" {r.text} " for r in rows), [r.text for r in rows]

    # 13. A key with fewer scopes: what it cannot do is not offered.
    @step("read-only-key")
    def _():
        status, _, made = api("POST", "/api/keys", {"name": "reader", "scopes": ["read:*"]})
        assert status == 201, made
        by_css("#sign-out").click()
        wait_text("#whoami", "Not signed in")
        open_hash("/signin")
        wait_css("#api-key").send_keys(made["secret"] + Keys.ENTER)
        wait_text("#whoami", r"reader.*read:\*")
        assert not driver.find_elements(By.CSS_SELECTOR, 'a[href="#/keys"]')
        open_hash(f"/kinds/song/records/{state['song']}")
        wait_title(lambda t: t.startswith(f"song {state['song']}"))
        assert by_css("#record-form fieldset").get_attribute("disabled") is not None
        assert not driver.find_elements(By.CSS_SELECTOR, "#save, #delete, #file-input")
        wait_css("#player")  # read:song may play (through a signed link)
        by_css("#sign-out").click()
        wait_text("#whoami", "Not signed in")
        open_hash("/signin")
        wait_css("#api-key").send_keys(KEY + Keys.ENTER)
        wait_text("#whoami", "console-admin")

    # 14. A kind added as YAML only (no code, no rebuild) appears after the server reloads.
    @step("yaml-kind", allowed_network=[("/api/audio/jingle/", 422)])
    def _():
        with open(os.path.join(opts.kinds_dir, "jingle.yaml"), "w") as out:
            out.write("""name: jingle
description: Station idents and stings.
fields:
  title:   {type: string, required: true, min_length: 1, max_length: 60}
  station: {type: enum, values: [north, south], required: true, index: true}
  plays:   {type: integer, min: 0, default: 0}
  seconds: {type: integer, min: 1, required: true}
upload:
  formats: [mp3, wav]
  max_size: 20MB
  duration_field: seconds
  duration_tolerance: 1s
""")
        # And the fuzzer's fixture kind, which has every field type and list item type.
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz-kinds", "clip.yaml")) as source, \
                open(os.path.join(opts.kinds_dir, "clip.yaml"), "w") as out:
            out.write(source.read())
        env = dict(os.environ)
        for command in (["migrate", "generate"], ["migrate", "apply"]):
            done = subprocess.run([opts.bin, *command], env=env, capture_output=True, text=True)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
        os.kill(opts.server_pid, signal.SIGHUP)
        deadline = time.time() + 20
        while time.time() < deadline:
            _, _, kinds = api("GET", "/api/kinds", key=False)
            if {"jingle", "clip"} <= {k["name"] for k in kinds["kinds"]}:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the server did not reload the kinds")
        open_hash("/kinds")
        driver.refresh()
        card = wait_css('#kinds .card[data-kind="jingle"]')
        assert "Station idents and stings." in card.text and "4 fields" in card.text and "read: key" in card.text, card.text
        open_hash("/kinds/jingle/new")
        wait_title("New jingle")
        options_ = [o.text for o in Select(by_css("#field-station")).options]
        assert options_ == ["(not set)", "north", "south"], options_
        by_css("#field-title").send_keys("Morning")
        Select(by_css("#field-station")).select_by_value("north")
        by_css("#field-seconds").send_keys("5")
        by_css("#save").click()
        wait_text(".notice", r"Created jingle \d+")
        # The kind's duration rule: a 60 s file for a 5 s jingle is refused with both durations.
        by_css("#file-input").send_keys(os.path.join(opts.work, "tone-60s.wav"))
        mismatch = wait_css("#duration-mismatch").text
        assert "60" in mismatch and "5 s" in mismatch, mismatch
        assert "Duration does not match" in by_css("#upload-result .problem").text
        driver.execute_script("document.getElementById('file-heading').scrollIntoView()")

    # 15. Every field type gets its input, with the kind's constraints; values round-trip as JSON.
    @step("every-field-type")
    def _():
        open_hash("/kinds/clip/new")
        wait_title("New clip")
        kinds_of = driver.execute_script("""
            const out = {};
            for (const el of document.querySelectorAll('#record-form [id^="field-"]')) {
              if (['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)) out[el.id] = [el.tagName, el.type, el.getAttribute('min'), el.getAttribute('max'), el.getAttribute('step'), el.getAttribute('maxlength'), el.getAttribute('pattern')];
            }
            return out;""")
        expect = {
            "field-title": ["INPUT", "text", None, None, None, "40", "^[A-Za-z0-9 ]+$"],
            "field-notes": ["TEXTAREA", "textarea", None, None, None, "673", None],  # max_length keeps its index within b-tree size
            "field-code": ["INPUT", "text", None, None, None, "8", None],
            "field-station": ["SELECT", "select-one", None, None, None, None, None],
            "field-plays": ["INPUT", "number", "0", None, "1", None, None],
            "field-count": ["INPUT", "number", "1", "10", "1", None, None],
            "field-gain": ["INPUT", "number", "-12.5", "12.5", "any", None, None],
            "field-loud": ["SELECT", "select-one", None, None, None, None, None],
            "field-aired_on": ["INPUT", "date", None, None, None, None, None],
            "field-air_at": ["INPUT", "datetime-local", None, None, "1", None, None],
        }
        for field, wanted in expect.items():
            assert kinds_of.get(field) == wanted, (field, kinds_of.get(field))
        assert by_css("#field-plays").get_attribute("value") == "0"  # the default
        assert Select(by_css("#field-loud")).first_selected_option.get_attribute("value") == "false"
        title = by_css("#field-title")
        title.send_keys("bad!")
        assert driver.execute_script("return arguments[0].validity.patternMismatch", title)
        title.clear()
        title.send_keys("Clip one")
        Select(by_css("#field-station")).select_by_value("south")
        by_css("#field-gain").send_keys("1.5")
        Select(by_css("#field-loud")).select_by_value("true")
        driver.execute_script("document.getElementById('field-aired_on').value = '2026-12-24'; document.getElementById('field-air_at').value = '2026-12-24T10:30:05'")
        for field, value in [("tags", "live"), ("scores", "42"), ("ratios", "0.25"), ("flags", "true"), ("slots", "2026-12-25T08:00:00"),
                             ("days", "2026-12-26"), ("moods", "calm")]:
            by_css(f"#field-{field}-add").click()
            item = by_css(f"#field-{field}-0")
            if item.tag_name == "select":
                Select(item).select_by_value(value)
            elif item.get_attribute("type") in ("date", "datetime-local"):
                driver.execute_script("arguments[0].value = arguments[1]", item, value)
            else:
                item.send_keys(value)
        by_css("#save").click()
        wait_text(".notice", r"Created clip \d+")
        clip = int(re.search(r"#/kinds/clip/records/(\d+)", driver.current_url).group(1))
        _, _, record = api("GET", f"/api/audio/clip/{clip}")
        got = {k: record[k] for k in ("title", "station", "plays", "gain", "loud", "aired_on", "tags", "scores", "ratios", "flags", "days", "moods")}
        assert got == {"title": "Clip one", "station": "south", "plays": 0, "gain": 1.5, "loud": True, "aired_on": "2026-12-24", "tags": ["live"],
                       "scores": [42], "ratios": [0.25], "flags": [True], "days": ["2026-12-26"], "moods": ["calm"]}, got
        assert record["air_at"].startswith("2026-12-24T10:30:05") and record["slots"][0].startswith("2026-12-25T08:00:00"), record
        # An edit sends only what changed (the date-times, shown without microseconds, are not resent).
        title = by_css("#field-title")
        title.clear()
        title.send_keys("Clip two")
        driver.execute_script("window.__sent = []; const f = window.fetch; window.fetch = (u, o) => { if (o && o.method === 'PATCH') window.__sent.push(o.body); return f(u, o); }")
        by_css("#save").click()
        wait_text(".notice", r"Saved clip")
        _, _, after = api("GET", f"/api/audio/clip/{clip}")
        assert after["title"] == "Clip two" and after["air_at"] == record["air_at"], after
        sent = driver.execute_script("return window.__sent")
        assert sent == ['{"title":"Clip two"}'], sent
        # clip has no access: block, so its downloads need the key: the player gets the file as a
        # blob fetched with the key (no signed link exists for `download: key`).
        small = os.path.join(opts.work, "tone-1s.wav")
        with open(small, "wb") as out:
            out.write(wav_bytes(1, rate=8000, channels=1))
        by_css("#file-input").send_keys(small)
        wait_text("#upload-result", r"Uploaded tone-1s\.wav")
        player = wait_css("#player")
        assert player.get_attribute("src").startswith("blob:"), player.get_attribute("src")
        wait.until(lambda d: d.execute_script("return arguments[0].readyState >= 1", player))
        assert abs(driver.execute_script("return arguments[0].duration", player) - 1) < 0.05
        # The table's filters for these types: enum, number range, boolean, date-time range.
        open_hash("/kinds/clip/records")
        wait_title("clip records")
        wait_text("#list-status", r"shown")
        Select(by_css("#filter-station")).select_by_value("south")
        Select(by_css("#filter-loud")).select_by_value("true")
        by_css("#filter-gain-gte").send_keys("1")
        driver.execute_script("document.getElementById('filter-air_at-gte').value = '2026-12-24T10:00'")
        navigating(lambda: by_css("#apply-filters").click())
        wait_text("#list-status", r"1 shown")
        assert "air_at[gte]=2026-12-24T10%3A00%3A00Z" in driver.current_url or "air_at[gte]=2026-12-24T10:00:00Z" in driver.current_url, driver.current_url
        driver.execute_script("document.getElementById('filter-air_at-gte').value = '2026-12-24T11:00'")
        navigating(lambda: by_css("#apply-filters").click())
        wait_text("#list-status", r"No records match")

    # 16. Readable at 360 px: nothing wider than the screen but the table, which scrolls in its box.
    @step("narrow-360px")
    def _():
        driver.set_window_size(360, 800)
        inner = driver.execute_script("return window.innerWidth")
        driver.get(state["list-url"])
        wait_text("#list-status", r"shown")
        overflow = driver.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= inner, (overflow, inner)
        open_hash(f"/kinds/song/records/{state['song']}")
        wait_css("#player")
        overflow = driver.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= inner, (overflow, inner)
        driver.save_screenshot(os.path.join(opts.results, f"{step_number:02d}-narrow-record.png"))
        driver.get(state["list-url"])
        wait_text("#list-status", r"shown")

    # 17. Assets: / redirects, files carry the security headers, nothing is fetched from elsewhere.
    @step("assets")
    def _():
        driver.set_window_size(1280, 900)
        foreign = [u for u, _, _ in performance_requests() if u.startswith("http") and not u.startswith(BASE)]
        assert not foreign, foreign
        req = urllib.request.Request(BASE + "/console/app.js")
        with urllib.request.urlopen(req) as resp:
            assert resp.headers["Content-Type"].startswith("text/javascript"), resp.headers
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
            assert resp.headers["X-Content-Type-Options"] == "nosniff"

    print(f"console e2e: {step_number} steps passed; upload progress seen (cancelled at, then %): {state.get('progress')}; "
          f"ranged requests after the seek: {state.get('ranged')}")
finally:
    driver.quit()
