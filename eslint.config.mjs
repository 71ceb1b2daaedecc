// ESLint for the whole repository (issue 17): the recommended JavaScript and typescript-eslint
// rules everywhere, the React hooks rules in the dashboard. Run by `npm run lint` inside `npm test`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

export default tseslint.config(
  { ignores: ["artifacts/", "cache/", "typechain-types/", "node_modules/", "dashboard/dist/", "dist/", ".data/", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` marks what is deliberately unused (a destructured field left out, a callback's slot).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  // The indexer's tests still read GraphQL answers and raw rows as `any` (the indexer itself is typed).
  { files: ["test/indexer/**"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
  // Chai's assertions are property reads (`expect(x).to.be.empty`).
  { files: ["test/**", "dashboard/test/**"], rules: { "@typescript-eslint/no-unused-expressions": "off" } },
  {
    files: ["dashboard/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: reactHooks.configs.recommended.rules,
    languageOptions: { globals: { ...globals.browser } },
  },
);
