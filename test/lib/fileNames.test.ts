import { expect } from "chai";
import { execFileSync } from "node:child_process";
import path from "node:path";

/** Issue 17: one file-naming style. TypeScript files are camelCase (PascalCase for React components). */
describe("file names", () => {
  it("every TypeScript file of the repository is camelCase or PascalCase, never kebab- or snake_case", () => {
    const root = path.resolve(__dirname, "../..");
    const files = execFileSync("git", ["ls-files", "*.ts", "*.tsx"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);
    expect(files.length).to.be.greaterThan(300);
    const stem = (f: string) => path.basename(f).split(".")[0];
    expect(files.filter((f) => !/^[A-Za-z][A-Za-z0-9]*$/.test(stem(f)))).to.deep.equal([]);
  });
});
