import type { Db, Logger } from '@koban/platform';
import { notFound } from '../campaign-errors.js';
import type { BudgetCounter } from '../budget/budget-counter.js';
import type { LedgerPort } from '../downstream/ledger-port.js';
import {
  checkPageSize,
  decodePageToken,
  encodePageToken,
  newCampaignId,
  type Campaign,
  type NewCampaign,
} from './campaign.js';
import type { CampaignStore } from './campaign-store.js';

export interface CampaignPage {
  campaigns: Campaign[];
  /** '' on the last page. */
  nextPageToken: string;
}

export interface CampaignService {
  /**
   * Opens the campaign's budget account in the ledger, then records the campaign and its budget.
   * Once this resolves, every grant sees the campaign (grants read campaigns from TiDB, never
   * from a cache). `service_unavailable` when the ledger cannot open the account.
   */
  create(campaign: NewCampaign): Promise<Campaign>;
  get(campaignId: string): Promise<Campaign>;
  list(pageSize: number, pageToken: string): Promise<CampaignPage>;
}

export interface CampaignServiceDeps {
  db: Db;
  store: CampaignStore;
  ledger: Pick<LedgerPort, 'openCampaignAccount'>;
  counter: Pick<BudgetCounter, 'set'>;
  logger: Logger;
  now: () => Date;
}

export function createCampaignService(deps: CampaignServiceDeps): CampaignService {
  const logger = deps.logger.child({ component: 'campaigns' });
  return {
    async create(fields) {
      const campaignId = newCampaignId();
      const ledgerAccountId = await deps.ledger.openCampaignAccount(campaignId);
      const campaign: Campaign = {
        ...fields,
        campaignId,
        ledgerAccountId,
        grantedPoints: 0,
        createdAt: deps.now(),
      };
      await deps.db.transaction((conn) => deps.store.insert(conn, campaign), { label: 'campaign.create' });
      // Best effort: a grant that finds no counter sets it from TiDB.
      await deps.counter.set({
        campaignId,
        budgetPoints: campaign.budgetPoints,
        grantedPoints: 0,
        endsAt: campaign.endsAt,
      });
      logger.info(
        { campaignId, cashbackBps: campaign.cashbackBps, budgetPoints: campaign.budgetPoints },
        'campaign created',
      );
      return campaign;
    },

    async get(campaignId) {
      const campaign = campaignId === '' ? undefined : await deps.store.find(campaignId);
      if (!campaign) throw notFound('campaign');
      return campaign;
    },

    async list(pageSize, pageToken) {
      const limit = checkPageSize(pageSize);
      const rows = await deps.store.list(decodePageToken(pageToken), limit + 1);
      const campaigns = rows.slice(0, limit);
      const last = campaigns[campaigns.length - 1];
      return {
        campaigns,
        nextPageToken: rows.length > limit && last ? encodePageToken(last) : '',
      };
    },
  };
}
