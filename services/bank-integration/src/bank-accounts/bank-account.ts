import { randomBytes } from 'node:crypto';
import { BankError, invalidRequest } from '../bank-errors.js';

/** A linked bank account. The number is kept for debits; answers show its last four digits. */
export interface BankAccount {
  bankAccountId: string;
  userId: string;
  bankCode: string;
  accountNumber: string;
  createdAt: Date;
}

export interface LinkCommand {
  userId: string;
  bankCode: string;
  accountNumber: string;
}

export const newBankAccountId = (): string => `ba_${randomBytes(12).toString('hex')}`;

/**
 * Checks a link request (API.md, "Simulated banks"): a user, a 4-digit bank code and a 7-digit
 * account number; other codes or numbers are `invalid_bank_account`.
 */
export function checkLinkCommand(command: LinkCommand): LinkCommand {
  if (command.userId === '') throw invalidRequest({ userId: 'required' });
  const problems: Record<string, string> = {};
  if (!/^\d{4}$/.test(command.bankCode)) problems['bankCode'] = 'must be 4 digits';
  if (!/^\d{7}$/.test(command.accountNumber)) problems['accountNumber'] = 'must be 7 digits';
  if (Object.keys(problems).length > 0) {
    throw new BankError(
      'invalid_bank_account',
      'a bank account is a 4-digit bank code and a 7-digit account number',
      { fields: problems },
    );
  }
  return command;
}

export const accountNumberLast4 = (account: BankAccount): string => account.accountNumber.slice(-4);
