import ivm from "isolated-vm";

/**
 * Whether the loaded isolated-vm carries patches/isolated-vm+5.0.4.patch, which keeps it from
 * running a function's code when it copies a thrown value out of an isolate, and copies at most
 * 4,096 characters of its text (docs/functions.md "Thrown values"). Without it, one request can
 * hold a thread for good. Asked once, in a throwaway isolate: the unpatched copy reads a thrown
 * error's message getter and a thrown Proxy's trap, and copies a thrown string whole.
 */
let patched: boolean | undefined;

/** Throws, saying how to mend it, unless isolated-vm is the patched build (`npm ci` makes it). */
export function assertIsolatedVmPatched(): void {
  patched ??= probe();
  if (!patched) {
    throw new Error("isolated-vm is not built with patches/isolated-vm+5.0.4.patch: run `npm ci` (its postinstall applies the patch and builds it)");
  }
}

function probe(): boolean {
  const isolate = new ivm.Isolate({ memoryLimit: 8 });
  try {
    const context = isolate.createContextSync();
    const thrown = (source: string) => {
      try {
        isolate.compileScriptSync(source).runSync(context);
        return "";
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
    const getter = thrown(`const e = new Error("x"); Object.defineProperty(e, "message", { get() { globalThis.read = true; return "read"; } }); throw e;`);
    const proxy = thrown(`throw new Proxy(new Error("x"), { get: (error, key) => (key === "message" ? "read through the trap" : error[key]) });`);
    const long = thrown(`throw "x".repeat(5000);`);
    return context.evalSync("globalThis.read") !== true && !getter.includes("read") && !proxy.includes("read through the trap") && long.length === 4096;
  } finally {
    isolate.dispose();
  }
}
