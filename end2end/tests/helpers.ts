import { execFileSync } from "node:child_process";
import * as path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, test as base, expect, type Page, request } from "@playwright/test";
import { twilio } from "./twilio";

/**
 * Playwright's `test`, with every page watched for Content-Security-Policy
 * violations: the app must work under its policy (hydration, the wizard,
 * live progress), and a violation fails the test.
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await use(page);
    expect(violations, "Content-Security-Policy violations").toEqual([]);
  },
});

export { expect };

export const PASSWORD = "end-to-end password";

/** Waits until the WASM has hydrated the page, so clicks reach Leptos. */
export async function hydrated(page: Page) {
  await expect(page.locator(".app[data-hydrated='true']")).toBeAttached();
}

export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Outreach → Settings → SMS, the way the help page says. */
export async function openSmsSettings(page: Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByRole("navigation", { name: "Settings sections" }).getByRole("link", { name: "SMS" }).click();
  await expect(page).toHaveURL(/\/outreach\/settings\/sms$/);
  await expect(page.getByRole("heading", { name: "Twilio Integration" })).toBeVisible();
  await hydrated(page);
}

export interface Values {
  accountSid?: string;
  authToken?: string;
  messagingServiceSid?: string;
}

export async function fill(page: Page, values: Values) {
  if (values.accountSid !== undefined) await page.getByRole("textbox", { name: "Account SID", exact: true }).fill(values.accountSid);
  if (values.authToken !== undefined) await page.getByLabel("Auth Token", { exact: true }).fill(values.authToken);
  if (values.messagingServiceSid !== undefined) {
    await page.getByRole("textbox", { name: "Messaging Service SID", exact: true }).fill(values.messagingServiceSid);
  }
}

export function panel(page: Page) {
  return page.getByRole("region", { name: "Twilio Integration" });
}

export function section(page: Page, name: "Account SID and Auth Token" | "Messaging Service SID") {
  return page.getByRole("region", { name });
}

/**
 * Text to find, matched case-sensitively as a substring (Playwright's
 * plain-string text matching ignores case, which let wrong capitals pass).
 */
export function words(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

/** WCAG 2 A/AA checks (axe) of the page as it is now. */
export async function audit(page: Page) {
  // Before its stylesheet arrives a page is never painted, but axe can read
  // it: in dark mode the unstyled links failed contrast against the white
  // axe assumes, and CI once caught that moment after a sign-in. Audit the
  // page once it has loaded.
  await page.waitForLoadState("load");
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  // Each violation with the elements it names, so a failure says where.
  const where = (v: (typeof results.violations)[number]) =>
    v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ") + (v.nodes.length > 3 ? `, and ${v.nodes.length - 3} more` : "");
  expect(results.violations.map((v) => `${v.id}: ${v.help} (${where(v)})`)).toEqual([]);
}

/** The page is no wider than the window (nothing scrolls sideways). */
export async function expectNoSidewaysScroll(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

/** A signed-in API session, for setting the stage through server functions. */
export async function apiSession(email: string): Promise<APIRequestContext> {
  const api = await request.newContext({ baseURL: test.info().project.use.baseURL });
  const signedIn = await api.post("/api/sign_in", { form: { email, password: PASSWORD } });
  expect(signedIn.ok(), await signedIn.text()).toBeTruthy();
  return api;
}

/**
 * An Org Admin's API session, their organisation's Twilio set up with the
 * simulator's credentials (saved through the server function, so checked
 * with Twilio like any save).
 */
export async function apiSessionWithTwilio(email: string): Promise<APIRequestContext> {
  const t = twilio();
  const admin = await apiSession(email);
  const saved = await admin.post("/api/save_twilio_integration", {
    form: { section: "everything", account_sid: t.account_sid, auth_token: t.auth_token, messaging_service_sid: t.messaging_service_sid, version: "0" },
  });
  expect(saved.ok(), await saved.text()).toBeTruthy();
  return admin;
}

/** The operator's `outreach` command line, against the specs' server's database. */
export function outreach(...args: string[]): string {
  const database = path.join(process.env.E2E_WORK_DIR as string, "outreach.db");
  return execFileSync(process.env.OUTREACH_BIN as string, args, {
    env: { ...process.env, OUTREACH_DATABASE_URL: `sqlite://${database}?mode=rwc`, RUST_LOG: "warn" },
    encoding: "utf8",
  });
}
