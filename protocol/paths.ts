/** A path with `.`, `..` and repeated slashes resolved, as the kernel would: `/a/./b/../c//d` is `/a/c/d`; `..` stops at `/`. */
export function normalizePath(absolute: string): string {
  const parts: string[] = [];
  for (const part of absolute.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}
