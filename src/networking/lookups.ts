// Small row helpers many networking modules share, in a leaf module (no networking imports) so
// that sharing them makes no import cycle.
import { notFound } from '../model/errors.ts';
import { parsePrefix, type Cidr } from '../model/ip.ts';
import type { SubnetRow } from '../store/schema/index.ts';

export const subnetCidr = (row: Pick<SubnetRow, 'cidr'>): Cidr => parsePrefix(row.cidr)!;

export const routerNotFound = (id: string) => notFound('RouterNotFound', `Router ${id} could not be found`);
