public enum BankSyncTestingPlaceholder {}
