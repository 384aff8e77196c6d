// What a browser downloads to make a page interactive, opened cold (a new
// browser context: nothing cached): the bundle's JavaScript and WASM. The
// sign-in page and Settings > SMS are served as islands (app::ISLAND_PAGES):
// only their forms hydrate, with a bundle of their own, split by island. The app's bundle is
// split by page (scripts/build-release.sh builds with `--split`; see
// app/src/pages.rs), so every other page loads the app's core and its own
// part.
// Sizes are the gzip copies the server sends to a browser that takes gzip
// (brotli, which Chromium takes, is smaller). `npx playwright test
// first-load` prints them per page.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, Page } from "@playwright/test";
import { apiSessionWithTwilio, expect, hydrated, signIn, test } from "./helpers";

const pkg = path.resolve("../target/site/pkg");

/** Issue 12's 200 KB, for both (1,067,598 bytes before the split). */
const SIGN_IN_CEILING = 200 * 1024;
const SMS_CEILING = 200 * 1024;

/** Content-Security-Policy violations on the pages opened cold. */
const violations: string[] = [];

interface Download {
  file: string;
  bytes: number;
  gzip: number;
}

/** Opens `url` in a fresh context and lists the bundle files it fetched. */
async function coldLoad(
  browser: Browser,
  url: string,
  storageState?: string,
): Promise<{ page: Page; fetched: Set<string>; files: Download[] }> {
  const context = await browser.newContext({ storageState });
  const page = await context.newPage();
  const fetched = new Set<string>();
  // Parts are fetched and compiled under the page's Content-Security-Policy.
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on("requestfinished", (request) => {
    const { pathname } = new URL(request.url());
    if (pathname.startsWith("/pkg/") && /\.(js|wasm)$/.test(pathname)) fetched.add(path.basename(pathname));
  });
  await page.goto(url);
  await hydrated(page);
  const files = [...fetched].sort().map((file) => ({
    file,
    bytes: fs.statSync(path.join(pkg, file)).size,
    gzip: fs.statSync(path.join(pkg, `${file}.gz`)).size,
  }));
  return { page, fetched, files };
}

/** The islands bundle's files (its own site before the build copied them
 * beside the app's: scripts/build-release.sh). */
const islandsBundle = new Set(fs.readdirSync(path.resolve("../target/site-islands/pkg")));

/** The file of a lazy island's part: `split_<island>_loader_<id>.<hash>.wasm`. */
function islandPart(files: Iterable<string>, island: string): boolean {
  return [...files].some((file) => file.startsWith(`split_${island}_loader_`));
}

/** The islands bundle's JavaScript and WASM, with the parts of the page's
 * lazy islands, and nothing of the app's. */
function expectIslandsBundleOnly(files: Download[], islands: string[]) {
  const names = files.map((f) => f.file);
  for (const island of islands) expect(islandPart(names, island), `${island}'s part`).toBe(true);
  expect(names.filter((file) => !islandsBundle.has(file)), "files not of the islands bundle").toEqual([]);
  expect(names.map((file) => file.replace(/\.[^.]+\.(js|wasm)$/, ".$1"))).toEqual(
    expect.arrayContaining(["outreach-islands.js", "outreach-islands.wasm"]),
  );
}

function report(route: string, files: Download[]): number {
  const gzip = files.reduce((sum, f) => sum + f.gzip, 0);
  const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
  console.log(`${route}: ${files.length} files, ${bytes.toLocaleString("en")} bytes, ${gzip.toLocaleString("en")} gzip`);
  for (const f of files) console.log(`  ${f.file}: ${f.bytes.toLocaleString("en")} (${f.gzip.toLocaleString("en")} gzip)`);
  return gzip;
}

test("the sign-in page and Settings > SMS load only the islands bundle, and other pages the app's", async ({ browser, page }, testInfo) => {
  // Six pages opened cold, five of them with a hundred files: 17 s alone,
  // 30 beside another worker.
  test.setTimeout(60_000);
  const signInPage = await coldLoad(browser, "/login");
  const signInBytes = report("/login", signInPage.files);
  // The sign-in form is in the bundle's core.
  expectIslandsBundleOnly(signInPage.files, []);
  // The page works: signing in from this cold load.
  await signInPage.page.getByLabel("Email").fill("admin@firstload.test");
  await signInPage.page.getByLabel("Password").fill("end-to-end password");
  await signInPage.page.getByRole("button", { name: "Sign in" }).click();
  await expect(signInPage.page).toHaveURL(/campaigns$/);
  await signInPage.page.context().close();

  // Settings > SMS as an admin sees it once Twilio is set up: with the
  // status and `Check now`.
  await apiSessionWithTwilio("admin@firstload.test");
  await signIn(page, "admin@firstload.test");
  await expect(page).toHaveURL(/campaigns$/);
  const session = testInfo.outputPath("session.json");
  await page.context().storageState({ path: session });

  const sms = await coldLoad(browser, "/outreach/settings/sms", session);
  const smsBytes = report("/outreach/settings/sms", sms.files);
  expectIslandsBundleOnly(sms.files, ["sign_out_form", "signed_out_watcher", "twilio_status"]);
  // Interactive: the form opens for editing, and only now is its part fetched.
  expect(islandPart(sms.fetched, "credentials_form")).toBe(false);
  await sms.page.getByRole("button", { name: "Edit" }).first().click();
  await expect(sms.page.getByRole("button", { name: "Save" })).toBeVisible();
  await hydrated(sms.page);
  expect(islandPart(sms.fetched, "credentials_form")).toBe(true);
  // Another page, reached by its link (a page load: the browser has no
  // router here), fetches the app's bundle.
  const before = sms.fetched.size;
  await sms.page.getByRole("navigation", { name: "Settings sections" }).getByRole("link", { name: "Team" }).click();
  await expect(sms.page).toHaveURL(/\/settings\/team$/);
  await expect(sms.page.getByRole("heading", { name: "Team", exact: true })).toBeVisible();
  expect(sms.fetched.size).toBeGreaterThan(before);
  await sms.page.context().close();

  // Every other page, for the record (a campaigner's first page included).
  for (const route of ["/outreach/campaigns", "/outreach/campaigns/new", "/outreach/contacts", "/outreach/account"]) {
    const other = await coldLoad(browser, route, session);
    report(route, other.files);
    await other.page.context().close();
  }

  expect(violations, "Content-Security-Policy violations").toEqual([]);
  expect(signInBytes, "the sign-in page's download, gzip").toBeLessThanOrEqual(SIGN_IN_CEILING);
  expect(smsBytes, "Settings > SMS's download, gzip").toBeLessThanOrEqual(SMS_CEILING);
});
