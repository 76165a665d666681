/** Types for find-fresh-bundle.js (plain JavaScript, so bin/airlock.js loads it without type stripping). */
export declare function findFreshBundle(bundleDir: URL, entryName: string): URL | undefined;
