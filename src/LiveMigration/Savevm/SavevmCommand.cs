namespace LiveMigration.Savevm;

/// <summary>The command numbers of COMMAND records (<c>0x08, be16 command, be16 length, data</c>).</summary>
public enum SavevmCommand : ushort
{
    /// <summary>Never valid on the wire (0).</summary>
    Invalid = 0,

    /// <summary>Asks the destination to open a return path to the source (1).</summary>
    OpenReturnPath = 1,

    /// <summary>A ping carrying a be32 the destination echoes on the return path (2).</summary>
    Ping = 2,

    /// <summary>Announces that postcopy may follow (3).</summary>
    PostcopyAdvise = 3,

    /// <summary>Postcopy: the destination starts listening for pages (4).</summary>
    PostcopyListen = 4,

    /// <summary>Postcopy: the destination guest starts running (5).</summary>
    PostcopyRun = 5,

    /// <summary>Postcopy: ranges of RAM the destination discards (6).</summary>
    PostcopyRamDiscard = 6,

    /// <summary>A nested stream packaged behind a be32 length (7), used by postcopy.</summary>
    Packaged = 7,

    /// <summary>Switches the destination to COLO fault tolerance (8).</summary>
    EnableColo = 8,

    /// <summary>Postcopy recovery: resume a broken postcopy migration (9).</summary>
    PostcopyResume = 9,

    /// <summary>Postcopy recovery: asks for a block's received bitmap (10).</summary>
    RecvBitmap = 10,

    /// <summary>The source is about to switch over (11, no data); sent by QEMU 10 right before completion.</summary>
    SwitchoverStart = 11,
}
