import { expect, hydrated, PASSWORD, signIn, test, words } from "./helpers";

test("an Org Admin signs in and reaches Outreach > Settings", async ({ page }) => {
  await signIn(page, "admin@acme.test");

  await expect(page).toHaveURL(/\/outreach\/campaigns$/);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByText(words("Outreach"))).toBeVisible();
  await nav.getByRole("link", { name: "Settings" }).click();

  await expect(page).toHaveURL(/\/outreach\/settings$/);
  await expect(page.getByRole("heading", { name: "Settings", level: 1 })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Organisation" })).toBeVisible();
  await expect(page.getByRole("cell", { name: "campaigner@acme.test" })).toBeVisible();
});

test("a campaigner has no Settings link and is refused at the settings URL", async ({ page }) => {
  await signIn(page, "campaigner@acme.test");

  await expect(page).toHaveURL(/\/outreach\/campaigns$/);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Campaigns" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Settings" })).toHaveCount(0);

  const response = await page.goto("/outreach/settings");
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "You need to be an Org Admin" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Organisation" })).toHaveCount(0);
});

test("a wrong password is refused with a message and no session", async ({ page }) => {
  await signIn(page, "admin@acme.test", "not the right password");

  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/outreach/campaigns");
  await expect(page).toHaveURL(/\/login$/);
});

test("the sign-in page works before its WASM loads: plain posts, the error shown by the server", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill("admin@acme.test");
  await page.getByLabel("Password").fill("not the right password");
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Email").fill("admin@acme.test");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/outreach\/campaigns$/);
  await context.close();
});

test("signing out ends the session", async ({ page }) => {
  await signIn(page, "admin@acme.test");
  await expect(page).toHaveURL(/\/outreach\/campaigns$/);
  await hydrated(page);

  await page.getByRole("button", { name: "Sign out" }).click();

  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/outreach/settings");
  await expect(page).toHaveURL(/\/login$/);
});

test("an organisation without a subscription sees Request access and can request it", async ({ page }) => {
  await signIn(page, "admin@dormant.test");

  await expect(page.getByRole("heading", { name: "Outreach needs a subscription" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("button", { name: "Request access" }).click();

  await expect(page.getByRole("status")).toContainText("Access was requested on");
  await expect(page.getByRole("button", { name: "Request access" })).toHaveCount(0);
  // The request was recorded, not just shown.
  await page.reload();
  await expect(page.getByRole("status")).toContainText("by admin@dormant.test");
});

test("every page carries a Content-Security-Policy with a nonce of its own, and the app works under it", async ({ page }) => {
  const first = await page.goto("/login");
  const policy = first?.headers()["content-security-policy"] ?? "";
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(policy).toContain("object-src 'none'");
  expect(policy).toContain("base-uri 'none'");
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).not.toContain("unsafe-inline");
  expect(first?.headers()["permissions-policy"]).toContain("camera=()");
  // Hydration runs under the policy (the test fails on any violation).
  await hydrated(page);
  const second = await page.goto("/login");
  expect(second?.headers()["content-security-policy"]).not.toBe(policy);
});
