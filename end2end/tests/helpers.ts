import { expect, type Page } from "@playwright/test";

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
