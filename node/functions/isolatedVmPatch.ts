import ivm from "isolated-vm";

/**
 * Whether the loaded isolated-vm carries patches/isolated-vm+5.0.4.patch, which keeps it from
 * running a function's code when it copies a thrown value out of an isolate (docs/functions.md
 * "Thrown values"). Without it, one request can hold a thread for good. Asked once: a Proxy thrown
 * in a throwaway isolate is read through its trap by the unpatched copy only.
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
    isolate
      .compileScriptSync(`throw new Proxy(new Error("read"), { get: (error, key) => (key === "message" ? "read through the trap" : error[key]) });`)
      .runSync(isolate.createContextSync());
    return false;
  } catch (error) {
    return !String((error as Error).message).includes("read through the trap");
  } finally {
    isolate.dispose();
  }
}
