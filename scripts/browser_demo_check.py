#!/usr/bin/env python3
"""Drives the `bnn serve` page in headless Chromium with Selenium.

Draws a "7" with the mouse, checks the answer, undoes it, loads white noise and a notMNIST letter,
checks their answers, and saves screenshots (desktop and phone size). Prints one JSON object with what
the page showed. Exit status: 0 when every check passed, 1 when one failed, 2 when the tools are missing.

    scripts/browser_demo_check.py --url http://127.0.0.1:8080/ --screenshot /tmp/bnn-demo \
        [--expect-seven] [--expect-refusals]

Run by Tests/BNNServerTests/BrowserDemoTests.swift; only talks to the URL it is given.
"""
import argparse
import json
import os
import shutil
import sys
import time


def find(names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--screenshot", required=True, help="path prefix of the screenshots (…-seven.png etc.)")
    parser.add_argument("--expect-seven", action="store_true", help="the drawn 7 must be answered 7")
    parser.add_argument("--expect-refusals", action="store_true",
                        help="noise and the notMNIST letter must be answered I don't know")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError as error:
        print(json.dumps({"missing": f"selenium: {error}"}))
        return 2
    chromium = find(["chromium", "chromium-browser", "google-chrome"])
    driver_path = find(["chromedriver"])
    if not chromium or not driver_path:
        print(json.dumps({"missing": "chromium" if not chromium else "chromedriver"}))
        return 2

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1000,900", "--disable-extensions", "--no-first-run"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    report = {"screenshots": {}}
    failures = []
    try:
        wait = WebDriverWait(driver, args.timeout)
        driver.get(args.url)
        # The footer names the model once /api/health has answered.
        wait.until(lambda d: d.find_element(By.ID, "footer").text.startswith("Model"))
        report["footer"] = driver.find_element(By.ID, "footer").text
        pad = driver.find_element(By.ID, "pad")

        def predictions():
            return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-predictions"))

        def answer_after(action):
            before = predictions()
            action()
            wait.until(lambda d: predictions() > before)
            time.sleep(0.1)  # let a follow-up prediction (queued while one was in flight) land
            wait.until(lambda d: d.execute_script("return !inFlight"))
            return driver.find_element(By.ID, "answer").text

        def shot(name):
            path = f"{args.screenshot}-{name}.png"
            driver.save_screenshot(path)
            report["screenshots"][name] = path

        def draw_seven():
            # Offsets are from the canvas centre (Selenium 4). One stroke: a bar, then the diagonal.
            size = pad.size["width"]
            scale = size / 280
            points = [(-70, -85)] + [(-70 + 14 * i, -85) for i in range(1, 11)] \
                + [(70 - 7 * i, -85 + 17 * i) for i in range(1, 11)]
            chain = ActionChains(driver, duration=10)
            chain.move_to_element_with_offset(pad, int(points[0][0] * scale), int(points[0][1] * scale))
            chain.click_and_hold()
            previous = points[0]
            for point in points[1:]:
                chain.move_by_offset(int((point[0] - previous[0]) * scale), int((point[1] - previous[1]) * scale))
                previous = point
            chain.release()
            chain.perform()

        report["seven"] = answer_after(draw_seven)
        report["seven_detail"] = driver.find_element(By.ID, "detail").text
        shot("seven")
        if args.expect_seven and report["seven"] != "7":
            failures.append(f"the drawn 7 was answered {report['seven']!r}")
        if not report["seven"]:
            failures.append("no answer shown after drawing")
        selected = driver.find_elements(By.CSS_SELECTOR, ".strip.selected")
        report["seven_highlighted"] = [row.get_attribute("id") for row in selected]

        driver.find_element(By.ID, "undo").click()
        wait.until(lambda d: d.find_element(By.ID, "answer").text == "Draw a digit")

        report["noise"] = answer_after(lambda: driver.find_element(By.ID, "sample-noise").click())
        report["noise_caption"] = driver.find_element(By.ID, "caption").text
        report["noise_why"] = driver.find_element(By.ID, "why").text
        shot("noise")
        if args.expect_refusals and report["noise"] != "I don't know":
            failures.append(f"white noise was answered {report['noise']!r}")
        # A refusal is explained: the score against the threshold and the best guess's probabilities.
        if report["noise"] == "I don't know" and not all(
                word in report["noise_why"] for word in ("threshold", "Best guess", "mean probability", "mutual information")):
            failures.append(f"the refusal of white noise is not explained: {report['noise_why']!r}")

        letter = driver.find_element(By.ID, "sample-notmnist")
        if letter.is_enabled():
            # One letter in ~30 is accepted even by the default model (it refuses ~97% of notMNIST), so
            # five random letters are shown and at least four must be refused.
            report["notmnist_answers"] = []
            for _ in range(5):
                answer = answer_after(letter.click)
                caption = driver.find_element(By.ID, "caption").text
                report["notmnist_answers"].append(f"{caption}: {answer}")
                if answer == "I don't know" and "notmnist" not in report:
                    report["notmnist"] = answer
                    shot("notmnist")
            report.setdefault("notmnist", answer)
            refused = sum(entry.endswith(": I don't know") for entry in report["notmnist_answers"])
            if args.expect_refusals and refused < 4:
                failures.append(f"only {refused} of 5 notMNIST letters were refused: {report['notmnist_answers']}")
        elif args.expect_refusals:
            failures.append("the notMNIST button is disabled (no notMNIST data)")

        digit = driver.find_element(By.ID, "sample-mnist")
        if digit.is_enabled():
            report["mnist"] = answer_after(digit.click)
            report["mnist_caption"] = driver.find_element(By.ID, "caption").text

        # Phone size: the page must still fit, the canvas must still take strokes.
        driver.set_window_size(390, 844)
        time.sleep(0.3)
        report["phone_overflow"] = driver.execute_script(
            "return document.documentElement.scrollWidth > window.innerWidth")
        if report["phone_overflow"]:
            failures.append("the page is wider than a 390-pixel phone screen")
        driver.find_element(By.ID, "clear").click()
        report["phone_seven"] = answer_after(draw_seven)
        shot("phone")
        if args.expect_seven and report["phone_seven"] != "7":
            failures.append(f"the 7 drawn on a phone-size page was answered {report['phone_seven']!r}")

        errors = [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        report["console_errors"] = errors
        if errors:
            failures.append(f"browser console errors: {errors}")
    except Exception as error:  # report any Selenium failure as a failed check, with a screenshot
        failures.append(f"{type(error).__name__}: {error}")
        try:
            path = f"{args.screenshot}-failure.png"
            driver.save_screenshot(path)
            report["screenshots"]["failure"] = path
        except Exception:
            pass
    finally:
        driver.quit()
    report["failures"] = failures
    print(json.dumps(report))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
