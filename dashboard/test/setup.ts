import { configure } from "@testing-library/react";

// findBy*/waitFor wait up to 5 s, not testing-library's 1 s: CI's shared 2-core machine renders
// these pages in seconds under load, and a real hang still fails.
configure({ asyncUtilTimeout: 5_000 });
