// Settings > Team: an Org Admin invites someone, who joins with the link;
// disabling someone signs out the page they have open.
import { audit, expect, hydrated, signIn, test } from "./helpers";

async function openTeam(page: import("@playwright/test").Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByRole("navigation", { name: "Settings sections" }).getByRole("link", { name: "Team" }).click();
  await expect(page).toHaveURL(/\/outreach\/settings\/team$/);
  await expect(page.getByRole("heading", { name: "Team", exact: true })).toBeVisible();
  await hydrated(page);
}

test("an Org Admin invites someone, who sets a password with the link and is signed in", async ({ page, browser }) => {
  await signIn(page, "admin@team.test");
  await expect(page).toHaveURL(/campaigns$/);
  await openTeam(page);

  await page.getByLabel("Email").fill("newcomer@team.test");
  await page.getByLabel("Role").selectOption({ label: "Campaigner" });
  await page.getByRole("button", { name: "Invite", exact: true }).click();

  const linkField = page.getByRole("textbox", { name: "Invitation link" });
  await expect(linkField).toBeVisible();
  const link = await linkField.inputValue();
  expect(link).toMatch(/\/invitations\/[A-Za-z0-9_-]{40,}$/);
  await expect(page.getByRole("row", { name: /newcomer@team\.test/ })).toContainText("Invited");
  await audit(page);

  // The invitee, in a browser of their own.
  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(link);
  await expect(invitee.getByRole("heading", { name: "Join Team on Outreach" })).toBeVisible();
  await hydrated(invitee);
  await invitee.getByLabel("New password", { exact: true }).fill("first day at the phone bank");
  await invitee.getByLabel("Confirm new password").fill("first day at the phone bank");
  await invitee.getByRole("button", { name: "Join Outreach" }).click();
  await expect(invitee).toHaveURL(/\/outreach\/campaigns$/);
  await expect(invitee.getByText("newcomer@team.test")).toBeVisible();

  // The link works once.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link);
  await expect(again.getByRole("alert")).toContainText("already been used");

  // They sign in again with the password they chose.
  await hydrated(invitee);
  await invitee.getByRole("button", { name: "Sign out" }).click();
  await expect(invitee).toHaveURL(/\/login$/);
  await signIn(invitee, "newcomer@team.test", "first day at the phone bank");
  await expect(invitee).toHaveURL(/\/outreach\/campaigns$/);

  await page.reload();
  await expect(page.getByRole("row", { name: /newcomer@team\.test/ })).toContainText("Active");
});

test("disabling someone signs out the page they have open", async ({ page, browser }) => {
  const person = await (await browser.newContext()).newPage();
  await signIn(person, "open-page@team.test");
  await expect(person).toHaveURL(/\/outreach\/campaigns$/);
  await hydrated(person);

  await signIn(page, "admin@team.test");
  await expect(page).toHaveURL(/campaigns$/);
  await openTeam(page);
  await page.getByRole("button", { name: "Disable open-page@team.test" }).click();
  await expect(page.getByRole("row", { name: /open-page@team\.test/ })).toContainText("Disabled");

  // Without touching it, the person's page goes to the sign-in page.
  await expect(person).toHaveURL(/\/login\?signed_out=1$/, { timeout: 20_000 });
  await expect(person.getByRole("status")).toHaveText("You were signed out: your session ended. Sign in again to continue.");
  await signIn(person, "open-page@team.test");
  await expect(person.getByRole("alert")).toHaveText("The email or password is incorrect.");

  // Enabled again, they can sign in.
  await page.getByRole("button", { name: "Enable open-page@team.test" }).click();
  await expect(page.getByRole("row", { name: /open-page@team\.test/ })).toContainText("Active");
  await signIn(person, "open-page@team.test");
  await expect(person).toHaveURL(/\/outreach\/campaigns$/);
});

test("everyone changes their own password on the Account page", async ({ page }) => {
  await signIn(page, "campaigner@acme.test");
  await expect(page).toHaveURL(/campaigns$/);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
  await expect(page).toHaveURL(/\/outreach\/account$/);
  await hydrated(page);
  await expect(page.getByRole("row", { name: /This session/ })).toBeVisible();
  await audit(page);

  await page.getByLabel("Current password").fill("not the password");
  await page.getByLabel("New password", { exact: true }).fill("a changed end-to-end password");
  await page.getByLabel("Confirm new password").fill("a changed end-to-end password");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#current-password-error")).toHaveText("This is not your current password.");
});
