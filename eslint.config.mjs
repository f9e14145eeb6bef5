// ESLint flat config: type-aware rules that catch lost promises and untyped module boundaries.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

export default tseslint.config(
  { ignores: ["node_modules/**", ".spotopt/**", ".scratch-*/**", "crds/**", "charts/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/explicit-module-boundary-types": "error",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      complexity: ["warn", 10],
      "max-depth": ["warn", 3],
      "max-params": ["warn", 4],
    },
  },
  {
    // Import cycles make start-up order and mocking fragile; the module graph must be a DAG.
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      "import-x/resolver": undefined,
      "import-x/resolver-next": [createTypeScriptImportResolver()],
    },
    rules: { "import-x/no-cycle": ["error", { ignoreExternal: true }] },
  },
  {
    // The local API server is the engine of local mode and the tests; nothing that runs in EKS may depend on it.
    files: ["operator/**/*.ts", "agent/**/*.ts", "src-shared/**/*.ts"],
    ignores: ["operator/local/**", "**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/local/apiserver/**", "**/local/apiserver"],
              message: "production code must not import the local API server",
            },
          ],
        },
      ],
    },
  },
  {
    // The agent runs alone in workload clusters: it shares code with the operator only through src-shared/.
    files: ["agent/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/local/apiserver/**", "**/local/apiserver"],
              message: "production code must not import the local API server",
            },
            { group: ["**/operator/**", "**/operator"], message: "the agent may import src-shared/, never operator/" },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: { "@typescript-eslint/explicit-module-boundary-types": "off", complexity: "off", "max-depth": "off" },
  },
  {
    files: ["bin/**/*.mjs", "*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
