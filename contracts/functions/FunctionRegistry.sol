// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FunctionRegistry: edge functions by name, each version a content root with its limits
/// @notice Anyone registers a function under a free name and becomes its owner. A function's code
/// is addressed by its content root (the standard BLAKE3 hash of the bundle, docs/functions.md), so
/// publishing a new root is publishing a new version; versions are numbered from 1, never change
/// and never repeat a root of the same function. The latest version is the one a name resolves to.
/// Limits are per version and bounded by what a node enforces at most (the issue's 128 MiB and
/// 15 s). A root belongs to the first function that publishes it, so a node serving
/// `/fn/blake3/<root>` finds the one function, version and limits it runs under ({lookup}).
/// Owner-pays: the owner may let its own ServiceEscrow account pay for everyone's invocations of
/// the function, up to a cap per epoch ({setOwnerPays}, docs/functions.md "Owner pays").
/// The registry holds no funds and has no admin: events carry everything the indexer needs.
contract FunctionRegistry {
    /// @notice Largest memory limit: the isolate heap a node gives a function at most.
    uint32 public constant MAX_MEMORY_MIB = 128;
    /// @notice Largest wall time limit per request.
    uint32 public constant MAX_WALL_MS = 15_000;
    /// @notice Largest bundle: what a node fetches and compiles at most.
    uint32 public constant MAX_BUNDLE_BYTES = 10 * 1024 * 1024;
    /// @notice Longest name, bytes (names are lower-case a-z, 0-9 and '-', not starting with '-').
    uint256 public constant MAX_NAME_BYTES = 64;

    /// @notice Limits of one version; each non-zero and at most its cap (CPU at most the wall time).
    struct Limits {
        uint32 memoryMiB;
        uint32 cpuMs;
        uint32 wallMs;
        uint32 bundleBytes;
    }

    /// @notice One published version.
    struct Version {
        bytes32 root;
        Limits limits;
        uint64 publishedAt;
    }

    /// @notice A function: its owner, name and number of versions (the latest is `versionCount`).
    struct Function {
        address owner;
        uint32 versionCount;
        string name;
    }

    /// @notice Functions registered, ids from 1.
    uint256 public functionCount;
    /// @notice Each function by id.
    mapping(uint256 id => Function) public functions;
    /// @notice Function id of each name's hash (0: free).
    mapping(bytes32 nameHash => uint256 id) public idOfName;
    /// @dev Versions of each function, 1-based.
    mapping(uint256 id => mapping(uint32 version => Version)) private _versions;
    /// @notice Version number of a root within a function (0: not published in it).
    mapping(uint256 id => mapping(bytes32 root => uint32 version)) public versionOfRoot;
    /// @notice The function that published a root first (0: none); only it may publish that root.
    mapping(bytes32 root => uint256 id) public functionOfRoot;
    /// @notice USDC units per epoch the owner's escrow account pays for everyone's invocations (0: clients pay).
    mapping(uint256 id => uint256 capPerEpoch) public ownerPaysCap;

    /// @notice A function was registered.
    event FunctionRegistered(uint256 indexed id, address indexed owner, string name);
    /// @notice A version was published (version 1 at registration).
    event VersionPublished(uint256 indexed id, uint32 indexed version, bytes32 indexed root, Limits limits);
    /// @notice A function changed owner.
    event FunctionOwnerChanged(uint256 indexed id, address indexed previousOwner, address indexed newOwner);
    /// @notice `owner`'s escrow account pays up to `capPerEpoch` per epoch for the function's invocations (0: clients pay).
    event OwnerPaysSet(uint256 indexed id, address indexed owner, uint256 capPerEpoch);

    /// @notice The name is empty, too long or has a character other than a-z, 0-9 and an inner '-'.
    error FunctionRegistryBadName(string name);
    /// @notice The name belongs to function `id`.
    error FunctionRegistryNameTaken(string name, uint256 id);
    /// @notice No function has this id.
    error FunctionRegistryUnknown(uint256 id);
    /// @notice Only the function's owner may do this.
    error FunctionRegistryNotOwner(uint256 id, address caller);
    /// @notice A zero root, or a root already published as `version` of this function.
    error FunctionRegistryBadRoot(bytes32 root, uint32 version);
    /// @notice A limit is zero or above its cap, or the CPU limit is above the wall limit.
    error FunctionRegistryBadLimits();
    /// @notice No function has this name.
    error FunctionRegistryUnknownName(string name);
    /// @notice No such version of the function.
    error FunctionRegistryUnknownVersion(uint256 id, uint32 version);
    /// @notice Ownership cannot go to the zero address.
    error FunctionRegistryZeroOwner();
    /// @notice The root belongs to function `id`.
    error FunctionRegistryRootTaken(bytes32 root, uint256 id);

    /// @notice Registers `name` for the caller with its first version.
    /// @param name the function's name (unique; lower-case a-z, 0-9, inner '-'; at most 64 bytes)
    /// @param root content root of version 1
    /// @param limits limits of version 1
    /// @return id the new function's id
    function register(string calldata name, bytes32 root, Limits calldata limits) external returns (uint256 id) {
        _checkName(name);
        bytes32 nameHash = keccak256(bytes(name));
        uint256 taken = idOfName[nameHash];
        if (taken != 0) revert FunctionRegistryNameTaken(name, taken);
        id = ++functionCount;
        idOfName[nameHash] = id;
        Function storage f = functions[id];
        f.owner = msg.sender;
        f.name = name;
        emit FunctionRegistered(id, msg.sender, name);
        _publish(id, f, root, limits);
    }

    /// @notice Publishes a new version of function `id` (owner only): a root it never had.
    /// @param id the function
    /// @param root the new content root
    /// @param limits its limits
    /// @return version the new version's number
    function publish(uint256 id, bytes32 root, Limits calldata limits) external returns (uint32 version) {
        Function storage f = _owned(id);
        return _publish(id, f, root, limits);
    }

    /// @notice Hands function `id` to `newOwner` (owner only).
    /// @param id the function
    /// @param newOwner the new owner, not zero
    function transferFunction(uint256 id, address newOwner) external {
        Function storage f = _owned(id);
        if (newOwner == address(0)) revert FunctionRegistryZeroOwner();
        emit FunctionOwnerChanged(id, f.owner, newOwner);
        f.owner = newOwner;
        // The new owner's account pays nothing it did not agree to.
        if (ownerPaysCap[id] != 0) {
            ownerPaysCap[id] = 0;
            emit OwnerPaysSet(id, newOwner, 0);
        }
    }

    /// @notice Lets the owner's ServiceEscrow account pay for everyone's invocations of function
    /// `id`, at most `capPerEpoch` per epoch (and at most what the escrow lets a report debit the
    /// account); 0 returns to clients paying. Nodes and reports read it at an epoch's first block,
    /// so a change applies from the next epoch.
    /// @param id the function (owner only)
    /// @param capPerEpoch USDC units (6 decimals) per epoch
    function setOwnerPays(uint256 id, uint256 capPerEpoch) external {
        Function storage f = _owned(id);
        ownerPaysCap[id] = capPerEpoch;
        emit OwnerPaysSet(id, f.owner, capPerEpoch);
    }

    /// @notice The function a root belongs to, the root's version in it, who pays and its limits.
    /// @param root a content root
    /// @return id the function (0: no function published the root; the other values are then zero)
    /// @return version the root's version number
    /// @return owner the function's owner
    /// @return capPerEpoch {ownerPaysCap} of the function
    /// @return limits the version's limits
    function lookup(bytes32 root) external view returns (uint256 id, uint32 version, address owner, uint256 capPerEpoch, Limits memory limits) {
        id = functionOfRoot[root];
        if (id == 0) return (0, 0, address(0), 0, limits);
        version = versionOfRoot[id][root];
        return (id, version, functions[id].owner, ownerPaysCap[id], _versions[id][version].limits);
    }

    /// @notice Version `version` of function `id`.
    /// @param id the function
    /// @param version 1 to its version count
    function versionOf(uint256 id, uint32 version) external view returns (Version memory) {
        if (version == 0 || version > functions[id].versionCount) revert FunctionRegistryUnknownVersion(id, version);
        return _versions[id][version];
    }

    /// @notice The function a name resolves to and its latest version.
    /// @param name the name
    /// @return id the function (reverts with FunctionRegistryUnknownName if the name is free)
    /// @return version its latest version number
    /// @return latest that version
    function resolve(string calldata name) external view returns (uint256 id, uint32 version, Version memory latest) {
        id = idOfName[keccak256(bytes(name))];
        if (id == 0) revert FunctionRegistryUnknownName(name);
        version = functions[id].versionCount;
        latest = _versions[id][version];
    }

    function _publish(uint256 id, Function storage f, bytes32 root, Limits calldata limits) private returns (uint32 version) {
        uint32 earlier = versionOfRoot[id][root];
        if (root == bytes32(0) || earlier != 0) revert FunctionRegistryBadRoot(root, earlier);
        uint256 holder = functionOfRoot[root];
        if (holder != 0) revert FunctionRegistryRootTaken(root, holder);
        functionOfRoot[root] = id;
        if (
            limits.memoryMiB == 0 ||
            limits.memoryMiB > MAX_MEMORY_MIB ||
            limits.wallMs == 0 ||
            limits.wallMs > MAX_WALL_MS ||
            limits.cpuMs == 0 ||
            limits.cpuMs > limits.wallMs ||
            limits.bundleBytes == 0 ||
            limits.bundleBytes > MAX_BUNDLE_BYTES
        ) revert FunctionRegistryBadLimits();
        version = ++f.versionCount;
        _versions[id][version] = Version(root, limits, uint64(block.timestamp));
        versionOfRoot[id][root] = version;
        emit VersionPublished(id, version, root, limits);
    }

    function _owned(uint256 id) private view returns (Function storage f) {
        f = functions[id];
        if (f.owner == address(0)) revert FunctionRegistryUnknown(id);
        if (f.owner != msg.sender) revert FunctionRegistryNotOwner(id, msg.sender);
    }

    /// @dev Names are what a URL path and a DNS label accept alike, so one name is one function.
    function _checkName(string calldata name) private pure {
        bytes calldata b = bytes(name);
        if (b.length == 0 || b.length > MAX_NAME_BYTES || b[0] == "-" || b[b.length - 1] == "-") revert FunctionRegistryBadName(name);
        for (uint256 i = 0; i < b.length; ++i) {
            bytes1 c = b[i];
            if (!((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-")) revert FunctionRegistryBadName(name);
        }
    }
}
