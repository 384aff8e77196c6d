// WCAG 2 A/AA checks (axe) of the pages people use, light and dark.
import { audit, expect, expectNoSidewaysScroll, hydrated, openSmsSettings, panel, signIn, test } from "./helpers";

for (const colorScheme of ["light", "dark"] as const) {
  test.describe(`${colorScheme} mode`, () => {
    test.use({ colorScheme });

    test("the sign-in page passes axe", async ({ page }) => {
      await page.goto("/login");
      await hydrated(page);
      await audit(page);
    });

    test("the SMS settings page and its form pass axe", async ({ page }) => {
      await signIn(page, "admin@acme.test");
      await expect(page).toHaveURL(/campaigns$/);
      await openSmsSettings(page);
      await audit(page);
      await panel(page).getByRole("button", { name: "Edit" }).click();
      await page.getByRole("button", { name: "Save" }).click();
      await expect(page.locator("#account_sid-error")).not.toBeEmpty();
      await audit(page);
    });

    test("the campaign wizard passes axe", async ({ page }) => {
      await signIn(page, "campaigner@acme.test");
      await expect(page).toHaveURL(/campaigns$/);
      await hydrated(page);
      await audit(page);
      await page.getByRole("link", { name: "New campaign" }).click();
      await hydrated(page);
      await audit(page);
      await page.getByLabel("Campaign name").fill("Accessible appeal");
      await page.getByRole("button", { name: "Next" }).click();
      await expect(page.getByRole("group", { name: "Delivery channel" })).toBeVisible();
      await audit(page);
    });
  });
}

test("the pages are usable 360 px wide", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await signIn(page, "admin@acme.test");
  await expect(page).toHaveURL(/campaigns$/);
  await openSmsSettings(page);
  await expectNoSidewaysScroll(page);
});
