/** Reads a JSON response body for assertions; tests check its shape, so it is deliberately loosely typed. */
// biome-ignore lint/suspicious/noExplicitAny: assertions below a JSON body navigate it freely
export async function readJson(res: Response): Promise<any> {
  return res.json();
}
