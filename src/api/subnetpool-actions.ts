// Subnet pool actions outside the generic resource routes (subnetpool-prefix-ops, subnet_onboard):
// PUT /v2.0/subnetpools/{id}/add_prefixes, /remove_prefixes ({"prefixes": [...]} → {"prefixes": [...]})
// and /onboard_network_subnets ({"network_id": …} → the onboarded subnets' ids and CIDRs).
import { unitOfWork } from '../store/unit-of-work.ts';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.ts';
import { addPrefixes, onboardNetworkSubnets, removePrefixes } from '../networking/subnetpools.ts';

export function registerSubnetPoolActions(v2: FastifyInstance, db: Db): void {
  type P = { Params: { id: string } };
  v2.put<P>('/subnetpools/:id/add_prefixes', async (req) => unitOfWork(db, (tx) => addPrefixes(tx, req.ctx, req.params.id, req.body)));
  v2.put<P>('/subnetpools/:id/remove_prefixes', async (req) =>
    unitOfWork(db, (tx) => removePrefixes(tx, req.ctx, req.params.id, req.body)),
  );
  v2.put<P>('/subnetpools/:id/onboard_network_subnets', async (req) =>
    unitOfWork(db, (tx) => onboardNetworkSubnets(tx, req.ctx, req.params.id, req.body)),
  );
}
